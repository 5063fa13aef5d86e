"""Rancher Fleet bundles: what a `fleet.yaml` folder deploys to one cluster.

A folder holding `fleet.yaml` is a bundle. Its top-level options (`kustomize.dir`, `helm`
with `chart`, `values`, `valuesFiles`, `yaml.overlays`, `namespace`...) apply to every
cluster; `targetCustomizations` (the older spelling: `targets`) override them per cluster.
The first customization whose `clusterName`, `clusterSelector` (labels) and
`clusterGroup`/`clusterGroupSelector` all hold is used. With `overrideTargets: true`, only
clusters matching one of `targets` get the bundle at all; `doNotDeploy: true` in a
customization keeps the bundle off its clusters.

Cluster groups are not in the inventory: a customization that needs one may or may not
match, so `select` returns the union of every customization that might apply before the
first certain one, and says why in `unmodelled`. Pure.
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.wiring.appset import ClusterInfo

FLEET_FILES = ("fleet.yaml", "fleet.yml")
# The fleet.yaml keys Fleet reads for a bundle's deployment (other keys are ignored by
# Fleet, so a change to them changes nothing a cluster gets).
OPTIONS = frozenset(
    {
        "name",
        "defaultNamespace",
        "namespace",
        "targetNamespace",
        "kustomize",
        "helm",
        "yaml",
        "diff",
        "serviceAccount",
        "forceSyncGeneration",
        "keepResources",
        "deleteCRDResources",
        "deleteNamespace",
        "ignore",
        "correctDrift",
        "namespaceLabels",
        "namespaceAnnotations",
        "downstreamResources",
        "dependsOn",
        "paused",
        "rolloutStrategy",
        "imageScans",
        "doNotDeploy",
    }
)
_OPTION_KEYS = ("clusterName", "clusterSelector", "clusterGroup", "clusterGroupSelector", "name")


@dataclass
class Selection:
    """What one cluster gets from one bundle (paths relative to the repository)."""

    deployed: bool
    kustomize_dir: str | None = None  # a folder kustomize builds (None: the bundle folder)
    chart: str | None = None  # a local chart folder
    values_files: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)  # overlay folders (overlays/<name>)
    chosen: list[str] = field(default_factory=list)  # customization names (or indexes)
    unmodelled: list[str] = field(default_factory=list)
    fingerprint: str = ""


def is_remote(ref: str) -> bool:
    return "://" in ref or ref.startswith(("git::", "git@", "oci:"))


def select(doc: Any, folder: str, cluster: ClusterInfo) -> Selection:
    """The options of bundle `folder` (its parsed `fleet.yaml`) that apply to `cluster`."""
    if not isinstance(doc, Mapping):
        doc = {}
    customizations = doc.get("targetCustomizations")
    targets = doc.get("targets")
    override = doc.get("overrideTargets") is True
    if not isinstance(customizations, list):
        customizations = [] if override or not isinstance(targets, list) else targets
    unmodelled: list[str] = []
    if override:
        allowed = (
            [t for t in targets if isinstance(t, Mapping)] if isinstance(targets, list) else []
        )
        verdicts = [_matches(t, cluster, unmodelled) for t in allowed]
        if not any(v is not False for v in verdicts):
            return Selection(deployed=False, fingerprint=_digest({"deployed": False}))
    chosen: list[tuple[str, Mapping[str, Any]]] = []
    for index, custom in enumerate(customizations):
        if not isinstance(custom, Mapping):
            continue
        verdict = _matches(custom, cluster, unmodelled)
        if verdict is False:
            continue
        chosen.append((str(custom.get("name") or f"#{index}"), custom))
        if verdict is True:
            break
    sel = Selection(deployed=True, chosen=[n for n, _ in chosen], unmodelled=unmodelled)
    if chosen and all(c.get("doNotDeploy") is True for _, c in chosen):
        sel.deployed = False
    variants = [dict(doc)] + [_merge(doc, c) for _, c in chosen]
    # With a certain match, only the merged options apply; an uncertain one adds its own.
    if chosen and not unmodelled:
        variants = [_merge(doc, chosen[-1][1])]
    for options in variants:
        _collect(options, folder, sel)
    sel.values_files = sorted(set(sel.values_files))
    sel.overlays = sorted(set(sel.overlays))
    effective = [{k: v for k, v in opts.items() if k in OPTIONS} for opts in variants]
    sel.fingerprint = _digest({"deployed": sel.deployed, "options": effective})
    return sel


def _collect(options: Mapping[str, Any], folder: str, sel: Selection) -> None:
    kustomize = options.get("kustomize")
    if isinstance(kustomize, Mapping) and isinstance(kustomize.get("dir"), str):
        directory = kustomize["dir"].strip()
        if directory and directory != ".":
            path = _join(folder, directory)
            sel.kustomize_dir = path if sel.kustomize_dir in (None, path) else sel.kustomize_dir
            if sel.kustomize_dir != path:
                sel.unmodelled.append("several possible kustomize.dir values")
    helm = options.get("helm")
    if isinstance(helm, Mapping):
        chart = helm.get("chart")
        local = isinstance(chart, str) and chart.strip() and not is_remote(chart.strip())
        if local and not helm.get("repo"):
            sel.chart = _join(folder, str(chart).strip())
        for values in helm.get("valuesFiles") or []:
            if isinstance(values, str) and values.strip() and not is_remote(values):
                sel.values_files.append(_join(folder, values.strip()))
    yaml_opts = options.get("yaml")
    if isinstance(yaml_opts, Mapping):
        for overlay in yaml_opts.get("overlays") or []:
            if isinstance(overlay, str) and overlay.strip():
                sel.overlays.append(_join(folder, f"overlays/{overlay.strip()}"))


def _matches(target: Mapping[str, Any], cluster: ClusterInfo, why: list[str]) -> bool | None:
    """True/False when decided; None when a cluster group decides (not in the inventory)."""
    criteria = [k for k in _OPTION_KEYS[:4] if target.get(k) is not None]
    if not criteria:
        why.append(f"customization {target.get('name', '?')!r} has no cluster criteria")
        return None
    name = target.get("clusterName")
    if name is not None and str(name) != cluster.name:
        return False
    selector = target.get("clusterSelector")
    if selector is not None:
        verdict = _label_match(selector, cluster.labels)
        if verdict is None:
            why.append(f"customization {target.get('name', '?')!r}: selector not understood")
            return None
        if not verdict:
            return False
    if target.get("clusterGroup") is not None or target.get("clusterGroupSelector") is not None:
        why.append(
            f"customization {target.get('name', '?')!r} targets a cluster group "
            "(groups are not in the inventory)"
        )
        return None
    return True


def _label_match(selector: Any, labels: Mapping[str, str]) -> bool | None:
    if not isinstance(selector, Mapping):
        return None
    for key, value in (selector.get("matchLabels") or {}).items():
        if labels.get(str(key)) != str(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            return None
        key, op = str(expr.get("key", "")), expr.get("operator")
        values = [str(v) for v in expr.get("values") or []]
        present = key in labels
        if op == "In":
            ok = present and labels[key] in values
        elif op == "NotIn":
            ok = not present or labels[key] not in values
        elif op == "Exists":
            ok = present
        elif op == "DoesNotExist":
            ok = not present
        else:
            return None
        if not ok:
            return False
    return True


def _merge(base: Mapping[str, Any], custom: Mapping[str, Any]) -> dict[str, Any]:
    merged = {k: v for k, v in base.items() if k not in ("targetCustomizations", "targets")}
    for key, value in custom.items():
        if key in _OPTION_KEYS:
            continue
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            inner = dict(merged[key])
            for k, v in value.items():
                if k == "valuesFiles" and isinstance(inner.get(k), list) and isinstance(v, list):
                    inner[k] = [*inner[k], *v]  # both are read: sound either way
                else:
                    inner[k] = v
            merged[key] = inner
        else:
            merged[key] = value
    return merged


def _join(folder: str, ref: str) -> str:
    joined = posixpath.normpath(f"{folder}/{ref}" if folder not in ("", ".") else ref)
    return "." if joined in ("", ".") else joined


def _digest(value: object) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def all_values_files(doc: Any, folder: str) -> set[str]:
    """Every values file any option or customization of the bundle names."""
    found: set[str] = set()
    if not isinstance(doc, Mapping):
        return found
    entries = [doc]
    for key in ("targetCustomizations", "targets"):
        if isinstance(doc.get(key), list):
            entries.extend(e for e in doc[key] if isinstance(e, Mapping))
    for entry in entries:
        helm = entry.get("helm")
        if isinstance(helm, Mapping):
            for values in helm.get("valuesFiles") or []:
                if isinstance(values, str) and values.strip() and not is_remote(values):
                    found.add(_join(folder, values.strip()))
    return found


def bundle_folders(files: Sequence[str], root: str) -> list[str]:
    """Folders at or below `root` that hold a `fleet.yaml` (sorted)."""
    prefix = "" if root in ("", ".") else root.rstrip("/") + "/"
    found = set()
    for path in files:
        name = path.rsplit("/", 1)[-1]
        if name in FLEET_FILES and path.startswith(prefix):
            found.add(posixpath.dirname(path) or ".")
    return sorted(found)
