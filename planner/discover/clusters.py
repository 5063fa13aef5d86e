"""Deciding which candidates are clusters: the roots among nested candidates, unique valid
names, secrets and Fleet targets attached, servers shared by several candidates dropped.
Pure."""

from __future__ import annotations

from collections.abc import Iterable

from planner import inventory
from planner import snapshot as snap_mod
from planner.discover.models import CLUSTER_DIRS, ENV_DIRS, IN_CLUSTER, Candidate, Skipped
from planner.discover.scanning import (
    app_servers,
    cluster_secrets,
    fleet_targets,
    flux_bootstraps,
    folder_candidates,
    yaml_files,
)
from planner.hierarchy.build import build_hierarchy as build
from planner.hierarchy.scopes import HierarchyConfig
from planner.snapshot import Snapshot

# ------------------------------------------------------------------------------ deciding


def _common(paths: Iterable[str]) -> str:
    parts = [p.split("/") for p in paths]
    if not parts:
        return "."
    prefix = []
    for items in zip(*parts, strict=False):
        if len(set(items)) != 1:
            break
        prefix.append(items[0])
    return "/".join(prefix) or "."


def _ancestors(path: str) -> set[str]:
    found = set()
    while path != ".":
        path = snap_mod.parent(path)
        found.add(path)
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _cluster_roots(snap: Snapshot, candidates: list[Candidate]) -> list[Candidate]:
    """Candidates that no other candidate reads (a folder another one reads is a layer).

    Linear in the size of the closures: each path a candidate reads outside its own folder
    marks the candidate folders above it as read.
    """
    if len(candidates) < 2:
        return candidates
    graph = build(snap, [c.path for c in candidates], HierarchyConfig())
    paths = {c.path for c in candidates}
    read_by_other: set[str] = set()
    reads_parent: set[str] = set()
    for c in candidates:
        root = graph.root_of(c.path)
        up = snap_mod.parent(c.path)
        for path in {graph.node(n).path for n in (graph.closure(root) if root else ())}:
            if _inside(path, c.path):
                continue
            if up in paths and _inside(path, up):
                reads_parent.add(c.path)
            folder = path
            while True:
                if folder in paths:
                    read_by_other.add(folder)
                if folder == ".":
                    break
                folder = snap_mod.parent(folder)
    kept = []
    for c in candidates:
        if c.path in read_by_other:
            continue
        if snap_mod.parent(c.path) in paths and c.path not in reads_parent:
            continue  # a folder inside a cluster folder that does not build on it
        kept.append(c)
    return kept


def _valid_name(raw: str) -> str | None:
    name = raw.strip().lower().replace("_", "-")
    try:
        return inventory.check_cluster_name(name)
    except ValueError:
        return None


def _unique_names(candidates: list[Candidate], top: str) -> None:
    """Two folders with the same leaf name: name each by its path below `top`."""
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c.name] = counts.get(c.name, 0) + 1
    for c in candidates:
        if counts[c.name] > 1:
            rel = c.path[len(top) + 1 :] if c.path.startswith(top + "/") else c.path
            c.name = rel.replace("/", "-")


def find_clusters(snap: Snapshot) -> tuple[list[Candidate], list[Skipped], list[str]]:
    """Every cluster the repository gives evidence for, by name."""
    files = yaml_files(snap)
    skipped: list[Skipped] = []
    notes: list[str] = []
    secrets = cluster_secrets(snap, files)
    fleet = fleet_targets(snap, files)
    by_path = _folders(snap, files, skipped)
    if not by_path and not secrets and not fleet:
        by_path = _environment_folders(snap, skipped, notes)
    by_name = _named(by_path, skipped)
    _add_secrets(by_name, secrets, skipped)
    _add_fleet(by_name, fleet, skipped)
    for c in by_name.values():
        if c.server is None:
            servers = {s for s in app_servers(snap, c.path) if s not in IN_CLUSTER}
            if len(servers) == 1:
                c.server = servers.pop()
                c.evidence.append(f"its Argo CD Applications deploy to {c.server}")
    _drop_shared_servers(list(by_name.values()), notes)
    return sorted(by_name.values(), key=lambda c: c.name), skipped, notes


def _folders(snap: Snapshot, files: list[str], skipped: list[Skipped]) -> dict[str, Candidate]:
    """Flux bootstrap folders and per-cluster folders under clusters/, by path."""
    by_path: dict[str, Candidate] = {}
    for c in flux_bootstraps(snap, files, skipped):
        if c.path in by_path:
            by_path[c.path].evidence += c.evidence
        else:
            by_path[c.path] = c
    for top in CLUSTER_DIRS:
        if not snap.is_dir(top):
            continue
        found = _cluster_roots(snap, folder_candidates(snap, top, skipped))
        _unique_names(found, top)
        for c in found:
            if c.path in by_path:
                continue  # a Flux bootstrap folder says it more precisely
            if not _ancestors(c.path) & by_path.keys():
                by_path[c.path] = c
    _unique_names(list(by_path.values()), CLUSTER_DIRS[0])
    return by_path


def _environment_folders(
    snap: Snapshot, skipped: list[Skipped], notes: list[str]
) -> dict[str, Candidate]:
    """envs/*, environments/*, overlays/*: one cluster per folder, when nothing else says."""
    for top in ENV_DIRS:
        if not snap.is_dir(top):
            continue
        found = _cluster_roots(snap, folder_candidates(snap, top, skipped))
        _unique_names(found, top)
        if found:
            notes.append(
                f"{top}/ read as one cluster per folder: nothing else in the repository "
                "names a cluster"
            )
            for c in found:
                c.evidence = [f"per-environment folder under {top}/ (one cluster each)"]
            return {c.path: c for c in found}
    return {}


def _named(by_path: dict[str, Candidate], skipped: list[Skipped]) -> dict[str, Candidate]:
    by_name: dict[str, Candidate] = {}
    for c in sorted(by_path.values(), key=lambda c: c.path):
        name = _valid_name(c.name)
        if name is None:
            skipped.append(Skipped(what=c.path, reason=f"{c.name!r} is not a valid cluster name"))
            continue
        if name != c.name:
            c.guesses.append("name")
        c.name = name
        if name in by_name:
            skipped.append(
                Skipped(what=c.path, reason=f"a second folder for {name} ({by_name[name].path})")
            )
            continue
        by_name[name] = c
    return by_name


def _add_secrets(
    by_name: dict[str, Candidate],
    secrets: list[tuple[str, str | None, str, dict[str, str]]],
    skipped: list[Skipped],
) -> None:
    for raw, server, file, labels in secrets:
        name = _valid_name(raw)
        if name is None:
            skipped.append(Skipped(what=file, reason=f"{raw!r} is not a valid cluster name"))
            continue
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = Candidate(snap_mod.parent(file), name, guesses=["path"])
        found.evidence.append(f"Argo CD cluster Secret: {file}")
        found.secret_labels, found.secret_file = labels, file
        if server and server.rstrip("/") not in IN_CLUSTER:
            found.server = server


def _add_fleet(
    by_name: dict[str, Candidate], fleet: dict[str, list[str]], skipped: list[Skipped]
) -> None:
    for raw, bundles in sorted(fleet.items()):
        folders = sorted(set(bundles))
        name = _valid_name(raw)
        if name is None:
            skipped.append(Skipped(what=folders[0], reason=f"{raw!r} is not a valid cluster name"))
            continue
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = Candidate(_common(folders), name)
            if len(folders) > 1:
                found.guesses.append("path")
        found.evidence.append("Rancher Fleet target clusterName in " + ", ".join(folders))


def _drop_shared_servers(found: list[Candidate], notes: list[str]) -> None:
    by_server: dict[str, list[Candidate]] = {}
    for c in found:
        if c.server:
            try:
                inventory.check_server(c.server)
            except ValueError:
                notes.append(f"{c.name}: server {c.server!r} left out (not an https URL)")
                c.server = None
                continue
            by_server.setdefault(c.server, []).append(c)
    for server, shared in by_server.items():
        if len(shared) > 1:
            notes.append(f"server {server} left out: {', '.join(c.name for c in shared)} share it")
            for c in shared:
                c.server = None
