"""Argo CD output: ApplicationSets with explicit `list` generators, one per wave.

Each wave's ApplicationSet lists every inventory cluster of that wave (membership is static)
as an element `{cluster, server, path, revision, wave, step}`; advancing a rollout changes
only `revision`. Names never depend on the rollout: the ApplicationSet of a wave is
`<name_prefix>-<wave>`, the Application of a cluster `<name_prefix>-<cluster>`. A wave
larger than `argocd.shard_size` is split into `<name_prefix>-<wave>-<k>` by a stable key
(region, then name), never by rollout order, and every object is checked against a byte
budget well under etcd's limit. `rolling-sync` writes one ApplicationSet for the whole
fleet that uses Argo CD's own progressive sync (`strategy.type: RollingSync`, one step per
wave matching the wave label). The template is Go-templated with `missingkey=error`; only
element fields are template parameters, and every value that reaches the output was
validated (inventory, policy), so nothing can inject template syntax. Pure: returns
{relative path: bytes}.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from enum import StrEnum
from typing import Any

from planner.emit.pinned import (
    MANAGED_BY,
    STEP_ANNOTATION,
    WAVE_LABEL,
    Element,
    PinnedPlan,
    check_object_size,
    cluster_labels,
)
from planner.policy import ArgoCDSettings
from planner.yamlsafe import dump_manifest, json_size

API_VERSION = "argoproj.io/v1alpha1"
ROLLOUT_SUFFIX = "rollout"


class Strategy(StrEnum):
    """How waves become ApplicationSets."""

    list = "list"  # one ApplicationSet per wave, list generator
    rolling_sync = "rolling-sync"  # one ApplicationSet, Argo CD progressive sync


def render(rollout: PinnedPlan, settings: ArgoCDSettings, strategy: Strategy) -> dict[str, bytes]:
    """Every file of the Argo CD output, keyed by path relative to `--out`."""
    objects: dict[str, dict[str, Any]] = {}
    if strategy is Strategy.rolling_sync:
        everything = rollout.elements()
        waves = [wave for wave, elements in rollout.waves.items() if elements]
        base = f"{settings.name_prefix}-{ROLLOUT_SUFFIX}"
        for name, part in shard_names(base, everything, rollout.regions, settings.shard_size):
            by_wave = sorted(part, key=lambda e: waves.index(e.wave))  # stable: keeps shard order
            objects[name] = application_set(
                name, by_wave, rollout, settings, wave=None, steps=waves
            )
    else:
        for wave, elements in rollout.waves.items():
            base = f"{settings.name_prefix}-{wave}"
            for name, part in shard_names(base, elements, rollout.regions, settings.shard_size):
                objects[name] = application_set(name, part, rollout, settings, wave=wave)
    files: dict[str, bytes] = {}
    for name, doc in sorted(objects.items()):
        path, data = appset_file(name, doc)
        files[path] = data
    files["kustomization.yaml"] = dump_manifest(
        {
            "apiVersion": "kustomize.config.k8s.io/v1beta1",
            "kind": "Kustomization",
            "resources": sorted(p for p in files),
        }
    ).encode()
    return files


def appset_file(name: str, doc: dict[str, Any]) -> tuple[str, bytes]:
    """The file of one ApplicationSet, within the byte budget of one object."""
    path = f"{name}.yaml"
    size = json_size(doc)
    check_object_size(
        path, f"ApplicationSet {name}", size, "lower `argocd.shard_size` in the policy"
    )
    return path, dump_manifest(doc).encode()


def shard_names(
    base: str, elements: Sequence[Element], regions: Mapping[str, str], size: int
) -> list[tuple[str, list[Element]]]:
    """Split by the stable key (region, name) into near-equal shards of at most `size`.

    One shard keeps the plain name; several are named `<base>-1`, `<base>-2`, ... Which
    shard a cluster lands in depends on the inventory and `size` only, never on the rollout.
    """
    ordered = sorted(elements, key=lambda e: (regions.get(e.cluster, ""), e.cluster))
    if len(ordered) <= size:
        return [(base, ordered)] if ordered else []
    count = math.ceil(len(ordered) / size)
    small, extra = divmod(len(ordered), count)
    out: list[tuple[str, list[Element]]] = []
    start = 0
    for index in range(count):
        end = start + small + (1 if index < extra else 0)
        out.append((f"{base}-{index + 1}", ordered[start:end]))
        start = end
    return out


def application_set(
    name: str,
    elements: Sequence[Element],
    rollout: PinnedPlan,
    settings: ArgoCDSettings,
    *,
    wave: str | None,
    steps: Sequence[str] = (),
) -> dict[str, Any]:
    """One ApplicationSet (a whole wave, a shard of one, or the rolling-sync fleet)."""
    named = any(not e.server for e in elements)
    patches, slots = pin_slots(elements, rollout)
    labels = dict(MANAGED_BY)
    if wave is not None:
        labels[WAVE_LABEL] = wave
    spec: dict[str, Any] = {
        "goTemplate": True,
        "goTemplateOptions": ["missingkey=error"],
        "generators": [
            {"list": {"elements": [_element(e, named=named, slots=slots) for e in elements]}}
        ],
    }
    if steps:
        spec["strategy"] = {
            "type": "RollingSync",
            "rollingSync": {
                "steps": [
                    {
                        "matchExpressions": [
                            {"key": WAVE_LABEL, "operator": "In", "values": [step]}
                        ],
                        "maxUpdate": settings.max_update,
                    }
                    for step in steps
                ]
            },
        }
    # Deleting or regenerating an ApplicationSet (or moving a cluster between shards)
    # must never cascade into deleting what runs on the clusters.
    spec["syncPolicy"] = {"preserveResourcesOnDeletion": True}
    spec["template"] = _template(rollout, settings, named=named, patches=patches)
    return {
        "apiVersion": API_VERSION,
        "kind": "ApplicationSet",
        "metadata": {
            "name": name,
            "namespace": settings.namespace,
            "labels": labels,
            "annotations": rollout.annotations(),
        },
        "spec": spec,
    }


NO_PIN = "~none"  # a slot value that names no object (never a valid object name)


def pin_slots(
    elements: Sequence[Element], rollout: PinnedPlan
) -> tuple[list[dict[str, Any]], dict[str, dict[str, str]]]:
    """The template's `source.kustomize.patches` and per-cluster slot parameters.

    When every cluster of the ApplicationSet needs the same patches (the revision is the
    `{{.revision}}` parameter), they are written into the template as they are. Otherwise
    each distinct patch (same operations, any object name) gets as many slots as the most
    any cluster needs; a slot is a target name parameter `{{.pinN}}`, set per element to
    one child's name or to `~none`, which names nothing.
    """
    lists = {e.cluster: rollout.patches(e) for e in elements}
    distinct = {dump_manifest(entries) for entries in lists.values()}
    if len(distinct) <= 1:
        return (next(iter(lists.values())) if lists else []), {}
    counts: dict[tuple[str, str, str], int] = {}
    names: dict[str, dict[tuple[str, str, str], list[str]]] = {}
    for cluster, entries in lists.items():
        mine: dict[tuple[str, str, str], list[str]] = {}
        for entry in entries:
            target = entry["target"]
            key = (target["group"], target["kind"], entry["patch"])
            mine.setdefault(key, []).append(target["name"])
        names[cluster] = mine
        for key, found in mine.items():
            counts[key] = max(counts.get(key, 0), len(found))
    patches: list[dict[str, Any]] = []
    slots: dict[str, dict[str, str]] = {cluster: {} for cluster in lists}
    number = 0
    for key in sorted(counts):
        group, kind, text = key
        for index in range(counts[key]):
            number += 1
            slot = f"pin{number}"
            patches.append(
                {
                    "patch": text,
                    "target": {"group": group, "kind": kind, "name": f"{{{{.{slot}}}}}"},
                }
            )
            for cluster in lists:
                found = names[cluster].get(key, [])
                slots[cluster][slot] = found[index] if index < len(found) else NO_PIN
    return patches, slots


def _element(
    element: Element, *, named: bool, slots: Mapping[str, Mapping[str, str]]
) -> dict[str, str]:
    out = {
        "cluster": element.cluster,
        "server": element.server,
        "path": element.path,
        "revision": element.revision,
        "wave": element.wave,
        "step": element.step,
    }
    if named:
        out["destinationName"] = "" if element.server else element.cluster
    out.update(slots.get(element.cluster, {}))
    return out


def _template(
    rollout: PinnedPlan,
    settings: ArgoCDSettings,
    *,
    named: bool,
    patches: Sequence[Mapping[str, Any]] = (),
) -> dict[str, Any]:
    destination: dict[str, str] = {"server": "{{.server}}"}
    if named:
        # Clusters without a server in the inventory are addressed by their Argo CD name.
        destination["name"] = "{{.destinationName}}"
    if settings.destination_namespace:
        destination["namespace"] = settings.destination_namespace
    source: dict[str, Any] = {
        "repoURL": rollout.repo_url,
        "targetRevision": "{{.revision}}",
        "path": "{{.path}}",
    }
    if patches:
        source["kustomize"] = {"patches": list(patches)}
    spec: dict[str, Any] = {
        "project": settings.project,
        "source": source,
        "destination": destination,
    }
    if settings.syncPolicy is not None:
        spec["syncPolicy"] = settings.syncPolicy
    return {
        "metadata": {
            "name": f"{settings.name_prefix}-{{{{.cluster}}}}",
            "labels": cluster_labels("{{.wave}}", "{{.cluster}}"),
            "annotations": {STEP_ANNOTATION: "{{.step}}"},
        },
        "spec": spec,
    }
