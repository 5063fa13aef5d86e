"""The graph under construction: nodes and edges, and locating a repository path as a node.

`NodeMaker` holds what a build accumulates (the networkx graph, cluster roots, problems,
wiring notes, the parse cache) and turns a path read in some mode (a kustomize resource, a
Flux or Argo CD path, a chart) into a node: a kustomization, a generated or directory folder,
a chart, a file, or a missing path with the problem that explains it.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from typing import Any

from planner import kustomize, snapshot
from planner.hierarchy.graph import Edge, HierarchyProblem, Node, NodeKind
from planner.hierarchy.parsing import ParseCache, Parsed, parse_yaml
from planner.hierarchy.scopes import Classifier, HierarchyConfig, Scope
from planner.snapshot import Snapshot
from planner.wiring import sources
from planner.wiring.notes import WiringNote
from planner.wiring.objects import ARGO, CHART, AppSetDoc, Follow, SourceRef

_BREADTH = {
    NodeKind.KUSTOMIZATION: 0,
    NodeKind.DIRECTORY: 1,
    NodeKind.GENERATED: 2,
    NodeKind.CHART: 3,
}


class NodeMaker:
    """What a build accumulates, and making and locating its nodes and edges."""

    def __init__(
        self,
        snap: Snapshot,
        config: HierarchyConfig,
        repo_urls: Iterable[str],
        check_paths: set[str],
        cache: ParseCache | None,
    ) -> None:
        self.snap = snap
        self.config = config
        self.rules = config.scopes
        self.check_paths = check_paths
        self.cache = cache if cache is not None else ParseCache()
        import networkx as nx

        self.graph: Any = nx.DiGraph()
        self.roots: dict[str, str] = {}
        self.problems: list[HierarchyProblem] = []
        self.wiring: list[WiringNote] = []
        self.object_sources: dict[str, SourceRef | None] = {}  # object tag -> source
        self.queue: deque[str] = deque()
        self.pending: list[tuple[str, Follow]] = []
        self.resolver = sources.SourceResolver(config.flux_sources, repo_urls)
        self.bytes: dict[str, bytes] = {}
        self._scopes: dict[str, tuple[Scope, str | None]] = {}
        self._classify = Classifier(tuple(self.rules))
        self._located: dict[tuple[str, str, bool], str] = {}
        self.appsets: dict[str, list[AppSetDoc]] = {}
        self.bundle_roots: set[str] = set()
        self.cluster_roots: dict[str, str] = {}
        self.expanded: dict[str, dict[str, str]] = {}
        self.expansion_inputs: dict[str, set[str]] = {}
        self._prefetch()

    def _prefetch(self) -> None:
        """Read every uncached kustomization file in one round trip."""
        wanted = [
            p
            for p in self.snap.files()
            if p.rsplit("/", 1)[-1] in kustomize.KUSTOMIZATION_FILES
            and self.cache.get(p, self.snap.blob_id(p)) is None
        ]
        self.bytes = self.snap.read_many(wanted)

    def _read(self, path: str) -> bytes | None:
        data = self.bytes.pop(path, None)
        return data if data is not None else self.snap.read(path)

    def _parse(self, path: str, data: bytes | None = None) -> Parsed:
        blob = self.snap.blob_id(path)
        cached = self.cache.get(path, blob)
        if cached is not None:
            return cached
        if data is None:
            data = self._read(path)
        parsed = Parsed(error="cannot be read") if data is None else parse_yaml(data)
        self.cache.put(path, blob, parsed)
        return parsed

    # ---- nodes -----------------------------------------------------------------------
    def _add(self, node: Node, links: tuple[str, ...] = ()) -> str:
        existing = self.graph.nodes.get(node.id)
        if existing is None:
            self.graph.add_node(node.id, node=node, links=links)
            self.queue.append(node.id)
        elif _BREADTH.get(node.kind, -1) > _BREADTH.get(existing["node"].kind, -1):
            existing["node"] = node
            self.queue.append(node.id)
        return node.id

    def _make(
        self, kind: NodeKind, path: str, *, file: str | None = None, recurse: bool = False
    ) -> Node:
        scope_layer = self._scopes.get(path)
        if scope_layer is None:
            scope_layer = self._scopes[path] = self._classify(path)
        scope, layer = scope_layer
        is_dir = kind in (
            NodeKind.KUSTOMIZATION,
            NodeKind.GENERATED,
            NodeKind.DIRECTORY,
            NodeKind.CHART,
            NodeKind.BUNDLE,
        )
        node_id = (path.rstrip("/") + "/") if is_dir else path
        if kind == NodeKind.KUSTOMIZATION and path == ".":
            node_id = "./"
        return Node(node_id, kind, path, scope, layer, file=file, recurse=recurse)

    def _problem(
        self, code: str, file: str, message: str, node: str, line: int | None = None
    ) -> None:
        self.problems.append(HierarchyProblem(code, file, message, node, line))

    def _kustomization_file(self, directory: str) -> str | None:
        return kustomize.kustomization_file(self.snap, directory)

    def locate(self, path: str, mode: str, *, origin: str, ref: str, recurse: bool = False) -> str:
        """The node for repository path `path` read as `mode` (creating it when new)."""
        memo = (path, mode, recurse)
        known = self._located.get(memo)
        if known is not None:
            return known
        if snapshot.escapes(path):
            node = self._add(self._make(NodeKind.MISSING, path))
            self._problem("escapes-repo", origin, f"reference {ref!r} leaves the repository", node)
            return node
        real, links = self.snap.resolve(path)
        if real is None:
            node = self._add(self._make(NodeKind.MISSING, path), links)
            self._problem(
                "symlink-outside",
                origin,
                f"{ref!r} goes through a symbolic link out of the repository",
                node,
            )
            return node
        if self.snap.is_dir(real):
            found = self._add(self._dir_node(real, mode, recurse, origin, ref), links)
            if self._kustomization_file(real) is not None or mode != kustomize.RESOURCE:
                self._located[memo] = found  # no problem to report on a later reference
            return found
        if self.snap.exists(real):
            found = self._add(self._make(NodeKind.FILE, real), links)
            self._located[memo] = found
            return found
        node = self._add(self._make(NodeKind.MISSING, real), links)
        code = "missing-path" if mode == "root" else "missing-reference"
        self._problem(code, origin, f"{ref!r} does not exist ({real})", node)
        return node

    def _dir_node(self, real: str, mode: str, recurse: bool, origin: str, ref: str) -> Node:
        kfile = self._kustomization_file(real)
        if mode in (kustomize.CHART, CHART, kustomize.FILE):
            return self._make(NodeKind.CHART, real)
        if kfile is not None:
            return self._make(NodeKind.KUSTOMIZATION, real, file=kfile)
        if mode == "root" and self.snap.exists(
            "Chart.yaml" if real == "." else f"{real}/Chart.yaml"
        ):
            return self._make(NodeKind.CHART, real)  # Argo CD renders a chart folder with Helm
        if mode == kustomize.RESOURCE:
            node = self._make(NodeKind.KUSTOMIZATION, real)
            self._problem(
                "not-a-kustomization",
                origin,
                f"{ref!r} is a folder without a kustomization file",
                node.id,
            )
            return node
        if mode == ARGO:
            has_chart = self.snap.exists("Chart.yaml" if real == "." else f"{real}/Chart.yaml")
            return self._make(
                NodeKind.CHART if has_chart else NodeKind.DIRECTORY, real, recurse=recurse
            )
        return self._make(NodeKind.GENERATED, real)

    def _edge(
        self, source: str, target: str, field_name: str, ref: str, follow: str | None = None
    ) -> None:
        if not self.graph.has_edge(source, target):
            self.graph.add_edge(source, target, edge=Edge(field_name, ref))
        if follow is not None:
            self.graph.edges[source, target]["follow"] = follow

    def _mark_scan(self, node_id: str, *, patch: bool) -> None:
        attrs = self.graph.nodes[node_id]
        if attrs["node"].kind != NodeKind.FILE or attrs.get("scan"):
            return
        attrs["scan"] = "patch" if patch else "resource"
        self.queue.append(node_id)
