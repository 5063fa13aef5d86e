"""Nested pins for a whole fleet, and the objects that leak past them.

`fleet_pins` runs `planner.pins.nesting` for every cluster at its pinned revision (one tracer
per revision, so shared layers are read once) and names each cluster's own pinned Flux
source; `leaks` groups what cannot be pinned by object, with the held-back clusters it
would leak the branch tip to. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from planner import snapshot
from planner.hierarchy.parsing import ParseCache
from planner.pins.applied import ARGO, FLUX
from planner.pins.nesting import Pin, PinContext, Pins, Tracer
from planner.snapshot import Snapshot

PINNED_SOURCE = "wave-planner-pinned-source"  # stands for the cluster's GitRepository name


@dataclass(frozen=True)
class Wanted:
    """One cluster's entry path at its pinned revision."""

    cluster: str
    path: str
    revision: str


def fleet_pins(
    snapshots: Mapping[str, Snapshot],
    wanted: Iterable[Wanted],
    context: PinContext,
    *,
    target: str,
    flux_namespace: str = "flux-system",
    parses: ParseCache | None = None,
) -> dict[tuple[str, str], Pins]:
    """Pins per (cluster, revision). Flux pins point at the cluster's own GitRepository
    (named after the cluster, in `flux_namespace`); Argo CD pins set the revision as the
    ApplicationSet template parameter `{{.revision}}`. `parses`: what the planner parsed."""
    tracers = {rev: Tracer(snap, context, parses) for rev, snap in snapshots.items()}
    source = {"kind": "GitRepository", "name": PINNED_SOURCE, "namespace": flux_namespace}
    out: dict[tuple[str, str], Pins] = {}
    for item in wanted:
        tracer = tracers.get(item.revision)
        if tracer is None:
            continue
        if target == "flux":
            found = tracer.pins(item.path, FLUX, source, item.revision)
            found = Pins(
                [_rename_source(p, item.cluster) for p in found.pins], list(found.unpinned)
            )
        else:
            found = tracer.pins(item.path, ARGO, source, "{{.revision}}")
            path = snapshot.normalize(item.path)
            if found.pins and tracer.plain_folder(path) and path not in found.plain_folders:
                found = Pins(found.pins, found.unpinned, [*found.plain_folders, path])
        out[(item.cluster, item.revision)] = found
    return out


def _rename_source(pin: Pin, cluster: str) -> Pin:
    return Pin(pin.group, pin.kind, pin.name, tuple(_replace(op, cluster) for op in pin.ops))


def _replace(value: Any, cluster: str) -> Any:
    if isinstance(value, str):
        return value.replace(PINNED_SOURCE, cluster)
    if isinstance(value, Mapping):
        return {k: _replace(v, cluster) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_replace(v, cluster) for v in value]
    return value


@dataclass(frozen=True)
class Leak:
    """An unpinned nested object and the held-back clusters whose pin it does not hold."""

    object: str
    file: str
    reason: str
    clusters: tuple[str, ...]

    def message(self) -> str:
        return (
            f"{self.object} ({self.file}) cannot be pinned: {self.reason}; "
            f"it applies the branch tip to held-back cluster(s) {', '.join(self.clusters)}"
        )


def leaks(pins: Mapping[tuple[str, str], Pins], head: str) -> list[Leak]:
    """Unpinned objects of clusters pinned to another revision than head, grouped."""
    found: dict[tuple[str, str, str], set[str]] = {}
    for (cluster, revision), item in pins.items():
        if revision == head:
            continue  # the branch tip is what this cluster runs anyway
        for u in item.unpinned:
            found.setdefault((u.object, u.file, u.reason), set()).add(cluster)
    return [Leak(o, f, r, tuple(sorted(c))) for (o, f, r), c in sorted(found.items())]


def pin_rollout_nesting(
    elements: Iterable[Any],
    base: Snapshot,
    head: Snapshot,
    context: PinContext,
    *,
    target: str,
    flux_namespace: str = "flux-system",
    parses: ParseCache | None = None,
) -> dict[tuple[str, str], Pins]:
    """Pins for every element (`planner.emit.pinned.Element`) at its own revision."""
    wanted = [Wanted(e.cluster, e.path, e.revision) for e in elements]
    return fleet_pins(
        {base.revision: base, head.revision: head},
        wanted,
        context,
        target=target,
        flux_namespace=flux_namespace,
        parses=parses,
    )


def plain_folders(pins: Mapping[tuple[str, str], Pins]) -> list[str]:
    """Argo CD paths patched without a kustomization file, sorted (see `Pins`)."""
    return sorted({f for item in pins.values() for f in item.plain_folders})
