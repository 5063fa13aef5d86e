"""Scanning a repository for cluster evidence: YAML documents, Flux bootstraps, per-cluster
folders, Argo CD cluster Secrets, Rancher Fleet targets and the servers Applications name.
Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from planner import inventory, yamlsafe
from planner import snapshot as snap_mod
from planner.discover.models import NOT_CLUSTERS, SECRET_LABEL, YAML, Candidate, Skipped
from planner.snapshot import Snapshot

# ------------------------------------------------------------------------------ scanning


def _docs(snap: Snapshot, path: str, needle: bytes | None = None) -> list[Mapping[str, Any]]:
    data = snap.read(path)
    if data is None or (needle is not None and needle not in data):
        return []
    try:
        return [d for d in yamlsafe.load_all(data) if isinstance(d, Mapping)]
    except yamlsafe.YamlError:
        return []


def yaml_files(snap: Snapshot) -> list[str]:
    return sorted(p for p in snap.files() if p.endswith((*YAML, "/Kustomization")))


def _has_yaml(snap: Snapshot, folder: str) -> bool:
    _, files = snap.list_dir(folder)
    return any(f.endswith(YAML) or f.rsplit("/", 1)[-1] == "Kustomization" for f in files)


def leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def flux_bootstraps(snap: Snapshot, files: list[str], skipped: list[Skipped]) -> list[Candidate]:
    found = []
    for path in files:
        if leaf(path) != "gotk-sync.yaml":
            continue
        folder = snap_mod.parent(snap_mod.parent(path))  # <cluster>/flux-system/gotk-sync.yaml
        for doc in _docs(snap, path):
            spec = doc.get("spec")
            if doc.get("kind") == "Kustomization" and isinstance(spec, Mapping):
                target = snap_mod.normalize(str(spec.get("path") or "."))
                if snap.is_dir(target) and not snap_mod.escapes(target):
                    folder = target
        if folder == ".":
            skipped.append(
                Skipped(
                    what=path,
                    reason="a Flux bootstrap syncing the whole repository: one cluster whose "
                    "name the repository does not say (add it to clusters.yaml with path: .)",
                )
            )
            continue
        found.append(Candidate(folder, leaf(folder), [f"Flux bootstrap: {path}"]))
    return found


def folder_candidates(snap: Snapshot, top: str, skipped: list[Skipped]) -> list[Candidate]:
    """Folders under `top` (three levels at most) that hold manifests directly."""
    found: list[Candidate] = []

    def walk(folder: str, depth: int) -> None:
        subdirs, _ = snap.list_dir(folder)
        for sub in subdirs:
            name = leaf(sub)
            if name.startswith((".", "_")) or name in NOT_CLUSTERS:
                if _has_yaml(snap, sub) and depth == 1:
                    skipped.append(Skipped(what=sub, reason="named like a shared layer"))
                continue
            if _has_yaml(snap, sub):
                found.append(Candidate(sub, name, [f"per-cluster folder under {top}/"]))
            if depth < 3:
                walk(sub, depth + 1)

    walk(top, 1)
    return found


def cluster_secrets(
    snap: Snapshot, files: list[str]
) -> list[tuple[str, str | None, str, dict[str, str]]]:
    """Argo CD cluster Secrets: (name, server, file, labels)."""
    found = []
    for path in files:
        for doc in _docs(snap, path, SECRET_LABEL.encode()):
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
            assert isinstance(meta, Mapping)
            labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
            assert isinstance(labels, Mapping)
            if doc.get("kind") != "Secret" or labels.get(SECRET_LABEL) != "cluster":
                continue
            fields = inventory._secret_fields(doc)
            name = fields.get("name") or meta.get("name")
            server = fields.get("server")
            if isinstance(name, str):
                extra = {
                    str(k): str(v)
                    for k, v in labels.items()
                    if k != SECRET_LABEL and isinstance(v, str)
                }
                found.append((name, server if isinstance(server, str) else None, path, extra))
    return found


def fleet_targets(snap: Snapshot, files: list[str]) -> dict[str, list[str]]:
    """Cluster names a Rancher Fleet bundle or GitRepo targets by name -> bundle folders."""
    named: dict[str, list[str]] = {}
    for path in files:
        is_bundle = leaf(path) == "fleet.yaml"
        for doc in _docs(snap, path, b"clusterName"):
            if is_bundle:
                entries = [doc.get("targetCustomizations"), doc.get("targets")]
            elif doc.get("kind") == "GitRepo" and "fleet.cattle.io" in str(doc.get("apiVersion")):
                spec = doc.get("spec")
                entries = [spec.get("targets")] if isinstance(spec, Mapping) else []
            else:
                continue
            for entry in (e for group in entries if isinstance(group, list) for e in group):
                name = entry.get("clusterName") if isinstance(entry, Mapping) else None
                if isinstance(name, str) and name and "{{" not in name:
                    named.setdefault(name, []).append(snap_mod.parent(path))
    return named


def app_servers(snap: Snapshot, folder: str) -> set[str]:
    """The destination servers of the Argo CD Applications directly in a folder."""
    servers: set[str] = set()
    _, files = snap.list_dir(folder)
    for path in files:
        for doc in _docs(snap, path, b"destination"):
            spec = doc.get("spec")
            if doc.get("kind") != "Application" or not isinstance(spec, Mapping):
                continue
            dest = spec.get("destination")
            server = dest.get("server") if isinstance(dest, Mapping) else None
            if isinstance(server, str) and "{{" not in server:
                servers.add(server.rstrip("/"))
    return servers
