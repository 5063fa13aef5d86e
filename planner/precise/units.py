"""Render units: what a cluster is made of, and the content address each one renders at.

A cluster's units are its path plus every folder a Flux `Kustomization` or Argo CD
`Application` in it pulls in (the hierarchy's follow edges), with the files each unit reads
and a content address made of their git blob ids, so identical units render once and
renders can be cached across runs; a folder without a kustomization gets the one
kustomize-controller generates. Running kustomize is the renderer adapter's job
(`planner.adapters.renderer`), reached through the `Renderer` protocol. Pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from planner import kustomize, yamlsafe
from planner.globs import IgnoreRules
from planner.hierarchy.graph import YAML_SUFFIXES, Hierarchy, NodeKind
from planner.snapshot import Snapshot
from planner.wiring.objects import CHART, FILE

KEY_VERSION = "wave-planner-render-1"

UnitKind = Literal["kustomize", "generated", "manifests", "files", "missing"]

# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    """One thing rendered for a cluster: a kustomization folder, a generated one, plain
    manifests, a hashed chart folder, or a path that does not exist."""

    kind: UnitKind
    path: str
    files: tuple[tuple[str, str], ...] = ()  # (path, content id) of every file it reads
    links: tuple[tuple[str, str], ...] = ()  # (symbolic link path, target)
    remote: tuple[str, ...] = ()  # remote references: never fetched, so the render fails
    generated: str | None = None  # the kustomization written for a `generated` unit
    error: str | None = None  # decided without rendering (e.g. a manifest does not parse)
    key: str = ""

    @property
    def needs_renderer(self) -> bool:
        return self.kind in ("kustomize", "generated") and not self.remote and not self.error


@dataclass(frozen=True)
class RenderJob:
    """A unit to render and the revision its files are read from."""

    unit: Unit
    snapshot: Snapshot


@dataclass(frozen=True)
class RenderOutput:
    """The renderer's answer for one unit: the YAML it printed, or why it failed."""

    text: str | None = None
    error: str | None = None


class Renderer(Protocol):
    """Renders kustomize units (the adapter: subprocesses, temporary folders, a cache)."""

    def render(self, jobs: Sequence[RenderJob]) -> dict[str, RenderOutput]:
        """Outputs by unit key, one for every job."""
        ...


FLUX_DEFAULT_IGNORE = (
    ".git/",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
)


class SourceIgnore:
    """`.sourceignore` rules (gitignore syntax), with Flux's defaults first."""

    def __init__(self, text: str = "") -> None:
        self.rules = IgnoreRules((*FLUX_DEFAULT_IGNORE, *text.splitlines()))

    def ignored(self, path: str, is_dir: bool) -> bool:
        return self.rules.ignored(path, is_dir=is_dir)


def source_ignore(snap: Snapshot) -> SourceIgnore:
    data = snap.read(".sourceignore")
    return SourceIgnore(data.decode("utf-8", errors="replace") if data else "")


class UnitBuilder:
    """The render units of clusters at one revision (memoized: clusters share layers)."""

    def __init__(self, graph: Hierarchy, snap: Snapshot) -> None:
        self.graph = graph
        self.snap = snap
        self.ignore = source_ignore(snap)
        self._units: dict[tuple[str, str | None], tuple[Unit, list[tuple[str, str]]]] = {}
        self._ids: dict[str, str] = {}

    def cluster(self, cluster_path: str, name: str | None = None) -> list[Unit] | None:
        """Every unit of the cluster at `cluster_path`, root first; None when it has no root."""
        root = self.graph.root_of(cluster_path, name)
        if root is None:
            return None
        found: dict[str, Unit] = {}
        pending: list[tuple[str, str | None]] = [(root, None)]
        while pending:
            node_id, mode = pending.pop(0)
            if node_id in found:
                continue
            made = self._unit(node_id, mode)
            if made is None:
                continue
            unit, follows = made
            found[node_id] = unit
            pending.extend(follows)
        return list(found.values())

    def layer(self, node_id: str) -> Unit | None:
        """The unit of one folder rendered on its own (a layer, for pruning)."""
        made = self._unit(node_id, None) if node_id in self.graph else None
        return made[0] if made is not None else None

    def _unit(self, node_id: str, mode: str | None) -> tuple[Unit, list[tuple[str, str]]] | None:
        memo = (node_id, mode)
        if memo not in self._units:
            made = self._make(node_id, mode)
            if made is None:
                return None
            self._units[memo] = made
        return self._units[memo]

    def _make(self, node_id: str, mode: str | None) -> tuple[Unit, list[tuple[str, str]]] | None:
        node = self.graph.node(node_id)
        if node.kind == NodeKind.EXTERNAL:
            return None  # a Flux or Argo CD source outside this repository: not followed
        closure, follows = self._closure(node_id)
        files, links, remote, missing = self._files(closure)
        kind: UnitKind
        generated: str | None = None
        error: str | None = None
        if mode in (CHART, FILE) or node.kind == NodeKind.CHART:
            kind = "files"
        elif node.kind == NodeKind.MISSING:
            kind = "missing"
        elif node.kind == NodeKind.KUSTOMIZATION:
            kind = "kustomize"
        elif node.kind == NodeKind.GENERATED:
            kind = "generated"
            generated, error = self._generated(node.path)
        else:  # DIRECTORY (Argo CD plain manifests) or a FILE pulled in as manifests
            kind = "manifests"
        unit = Unit(
            kind=kind,
            path=node.path,
            files=files,
            links=links,
            remote=remote,
            generated=generated,
            error=error,
        )
        unit = dataclasses.replace(unit, key=unit_key(unit, missing))
        return unit, follows

    def _closure(self, start: str) -> tuple[list[str], list[tuple[str, str]]]:
        """Nodes read through kustomize references, and the follow edges leaving them."""
        seen = {start}
        order = [start]
        follows: list[tuple[str, str]] = []
        index = 0
        while index < len(order):
            current = order[index]
            index += 1
            for target in sorted(self.graph.graph.successors(current)):
                mode = self.graph.follow_mode(current, target)
                if mode is not None:
                    follows.append((target, mode))
                    if " " in self.graph.edge(current, target).field:
                        continue  # pulled in by a Flux or Argo CD object only: its own unit
                if target not in seen:
                    seen.add(target)
                    order.append(target)
        return order, follows

    def _files(
        self, closure: Iterable[str]
    ) -> tuple[
        tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]
    ]:
        paths: set[str] = set()
        links: set[tuple[str, str]] = set()
        remote: set[str] = set()
        missing: set[str] = set()
        for node_id in closure:
            node = self.graph.node(node_id)
            if node.kind == NodeKind.EXTERNAL:
                remote.add(node.path)
            elif node.kind == NodeKind.MISSING:
                missing.add(node.path)
            elif node.kind == NodeKind.FILE:
                paths.add(node.path)
            elif node.kind == NodeKind.KUSTOMIZATION and node.file:
                paths.add(node.file)
            elif node.kind == NodeKind.CHART:
                paths.update(self._below(node.path))
            for link in self.graph.graph.nodes[node_id].get("links", ()):
                target = self.snap.symlink_target(link)
                if target is not None:
                    links.add((link, target))
        return (
            self._ids_of(sorted(paths)),
            tuple(sorted(links)),
            tuple(sorted(remote)),
            tuple(sorted(missing)),
        )

    def _below(self, folder: str) -> list[str]:
        prefix = "" if folder == "." else folder + "/"
        return [p for p in self.snap.files() if p.startswith(prefix)]

    def _ids_of(self, paths: list[str]) -> tuple[tuple[str, str], ...]:
        unknown = [p for p in paths if p not in self._ids and self.snap.blob_id(p) is None]
        data = self.snap.read_many(unknown) if unknown else {}
        for path in paths:
            if path not in self._ids:
                blob = self.snap.blob_id(path)
                if blob is None:
                    blob = "sha256:" + hashlib.sha256(data.get(path, b"")).hexdigest()
                self._ids[path] = blob
        return tuple((p, self._ids[p]) for p in paths)

    def _generated(self, folder: str) -> tuple[str | None, str | None]:
        """The kustomization kustomize-controller writes for a folder without one."""
        resources: list[str] = []
        wanted: list[str] = []
        queue = [folder]
        while queue:
            current = queue.pop(0)
            subdirs, files = self.snap.list_dir(current)
            for sub in subdirs:
                if self.ignore.ignored(sub, True):
                    continue
                if _has_kustomization(self.snap, sub):
                    resources.append(sub)
                else:
                    queue.append(sub)
            wanted.extend(
                f for f in files if f.endswith(YAML_SUFFIXES) and not self.ignore.ignored(f, False)
            )
        data = self.snap.read_many(wanted)
        for path in wanted:
            try:
                docs = yamlsafe.load_all(data.get(path, b""))
            except yamlsafe.YamlError as exc:
                return None, f"generated kustomization: cannot parse {path}: {exc}"
            if docs and all(_is_object(d) for d in docs):
                resources.append(path)
        relative = sorted(_relative(p, folder) for p in resources)
        text = yamlsafe.dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": relative,
            }
        )
        return text, None


def _has_kustomization(snap: Snapshot, folder: str) -> bool:
    return any(snap.exists(f"{folder}/{name}") for name in kustomize.KUSTOMIZATION_FILES)


def _is_object(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "kind" in doc and "apiVersion" in doc


def _relative(path: str, folder: str) -> str:
    return path if folder == "." else path[len(folder) + 1 :]


def unit_key(unit: Unit, missing: Iterable[str] = ()) -> str:
    """The content address of a unit: everything its render depends on."""
    text = json.dumps(
        [
            KEY_VERSION,
            unit.kind,
            unit.path,
            unit.files,
            unit.links,
            unit.remote,
            sorted(missing),
            unit.generated,
            unit.error,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()
