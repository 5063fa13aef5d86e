"""Flux output: per cluster a pinned GitRepository and a Kustomization, per wave a path list.

For every inventory cluster, `clusters/<cluster>/sync.yaml` holds a GitRepository
(`source.toolkit.fluxcd.io/v1`) pinned with `spec.ref.commit` to the revision
the pinning rule gives, and a `kustomize.toolkit.fluxcd.io/v1` Kustomization whose
`spec.path` is the cluster's path and whose `sourceRef` names that GitRepository (both named
after the cluster, so names never change during a rollout). With `flux.kubeconfig` the
Kustomization reconciles a remote cluster from a hub through `kubeConfig.secretRef`
(`<cluster>-kubeconfig`). A top-level `kustomization.yaml` lists every sync file, for a hub
that applies them all; a single cluster can point its own Flux at `clusters/<cluster>`.

Per wave, `<wave>.paths` is a plain list in a format of its own (not a Kubernetes
object): `#` comment lines with the plan, then one line per cluster of the wave,
`<path> <revision> <cluster> <step>` separated by tabs (`-` for a cluster the change
does not affect), sorted by cluster name; `cut -f1` gives the paths.
Pure: returns {relative path: bytes}.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.emit.pinned import (
    STEP_ANNOTATION,
    Element,
    PinnedPlan,
    check_object_size,
    cluster_labels,
)
from planner.policy import FluxSettings
from planner.yamlsafe import dump_manifest, dump_manifests, json_size
from planner.yamlsafe.stencil import Stencil, placeholders

SOURCE_API = "source.toolkit.fluxcd.io/v1"
KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/v1"
PATHS_FORMAT = "wave-planner paths v1"


def render(rollout: PinnedPlan, settings: FluxSettings) -> dict[str, bytes]:
    """Every file of the Flux output, keyed by path relative to `--out`."""
    files: dict[str, bytes] = {}
    write = SyncWriter(rollout, settings)
    for wave, elements in rollout.waves.items():
        for element in elements:
            files[sync_path(element)] = write(element)
        files[f"{wave}.paths"] = wave_paths(wave, elements, rollout)
    files["kustomization.yaml"] = dump_manifest(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(p for p in files if p.endswith("/sync.yaml")),
        }
    ).encode()
    return dict(sorted(files.items()))


def sync_path(element: Element) -> str:
    return f"clusters/{element.cluster}/sync.yaml"


def sync_file(element: Element, rollout: PinnedPlan, settings: FluxSettings) -> bytes:
    """`clusters/<cluster>/sync.yaml`: the cluster's GitRepository and Kustomization."""
    docs = sync_documents(element, rollout, settings)
    _check_sizes(element, [json_size(doc) for doc in docs])
    return dump_manifests(docs)


def sync_documents(
    element: Element, rollout: PinnedPlan, settings: FluxSettings
) -> list[dict[str, Any]]:
    return [git_repository(element, rollout, settings), kustomization(element, rollout, settings)]


def _check_sizes(element: Element, sizes: Sequence[int]) -> None:
    for kind, size in zip(("GitRepository", "Kustomization"), sizes, strict=True):
        name = f"{kind} {element.cluster}"
        check_object_size(sync_path(element), name, size, "shorten the cluster's path")


_FIELDS = ("cluster", "path", "revision", "wave", "step")


class SyncWriter:
    """`sync_file` for the elements of one rollout, fast: the documents of each shape (with
    or without a step) are written once as a `Stencil` and filled per cluster; an element
    with patches, or a value the stencil cannot hold, is written in full."""

    def __init__(self, rollout: PinnedPlan, settings: FluxSettings) -> None:
        self.rollout = rollout
        self.settings = settings
        self._stencils: dict[bool, Stencil | None] = {}

    def __call__(self, element: Element) -> bytes:
        stepped = bool(element.step)
        if stepped not in self._stencils:
            self._stencils[stepped] = self._stencil(stepped)
        stencil = self._stencils[stepped]
        filled = None
        if stencil is not None and not self.rollout.patches(element):
            filled = stencil.fill({name: getattr(element, name) for name in _FIELDS})
        if filled is None:
            return sync_file(element, self.rollout, self.settings)
        data, sizes = filled
        _check_sizes(element, sizes)
        return data

    def _stencil(self, stepped: bool) -> Stencil | None:
        marks = placeholders(_FIELDS)
        shape = Element(
            cluster=marks["cluster"],
            server="",
            path=marks["path"],
            revision=marks["revision"],
            wave=marks["wave"],
            step=marks["step"] if stepped else "",
        )
        if self.rollout.patches(shape):
            return None
        return Stencil.of(sync_documents(shape, self.rollout, self.settings), _FIELDS)


def _metadata(element: Element, rollout: PinnedPlan, settings: FluxSettings) -> dict[str, Any]:
    annotations = rollout.annotations()
    if element.step:
        annotations[STEP_ANNOTATION] = element.step
    return {
        "name": element.cluster,
        "namespace": settings.namespace,
        "labels": cluster_labels(element.wave, element.cluster),
        "annotations": annotations,
    }


def git_repository(element: Element, rollout: PinnedPlan, settings: FluxSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": settings.interval,
        "url": rollout.repo_url,
        "ref": {"commit": element.revision},
    }
    if settings.secret_ref:
        spec["secretRef"] = {"name": settings.secret_ref}
    return {
        "apiVersion": SOURCE_API,
        "kind": "GitRepository",
        "metadata": _metadata(element, rollout, settings),
        "spec": spec,
    }


def kustomization(element: Element, rollout: PinnedPlan, settings: FluxSettings) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "interval": settings.interval,
        "path": element.path,
        "prune": settings.prune,
        "sourceRef": {"kind": "GitRepository", "name": element.cluster},
    }
    patches = rollout.patches(element)
    if patches:
        spec["patches"] = patches
    if settings.kubeconfig:
        spec["kubeConfig"] = {"secretRef": {"name": f"{element.cluster}-kubeconfig"}}
    return {
        "apiVersion": KUSTOMIZE_API,
        "kind": "Kustomization",
        "metadata": _metadata(element, rollout, settings),
        "spec": spec,
    }


def wave_paths(wave: str, elements: list[Element], rollout: PinnedPlan) -> bytes:
    """The plain per-wave list (format described in the module docstring)."""
    lines = [
        f"# {PATHS_FORMAT}",
        f"# wave: {wave}",
        f"# plan: {rollout.plan_id} base: {rollout.base} head: {rollout.head}",
        f"# released: {len(rollout.released)}/{len(rollout.steps)} steps",
    ]
    if rollout.emergency is not None:
        lines.append(f"# emergency: {' '.join(rollout.emergency.split())}")
    lines.append("# columns (tab-separated): path revision cluster step")
    lines.extend(
        f"{e.path}\t{e.revision}\t{e.cluster}\t{e.step or '-'}"
        for e in sorted(elements, key=lambda e: e.cluster)
    )
    return ("\n".join(lines) + "\n").encode()
