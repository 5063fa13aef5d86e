"""The hierarchy graph of one revision and the questions the planner asks of it.

Nodes are kustomization roots, the files they reference, folders pulled in by Flux
`Kustomization`s and Argo CD `Application`s, and remote references (marked external, never
fetched). An edge says "the source reads the target" and remembers the field and the text of
the reference, so a plan can print the chain from a cluster's path down to a changed file.

`Hierarchy` wraps the networkx graph and answers the named questions: which nodes own a
changed path, which nodes reach a set of nodes, the chain from a cluster root to a change,
the layer of a node, and the problems found while building (broken YAML, missing or
escaping references, cycles).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from planner import kustomize, snapshot
from planner.hierarchy.scopes import Scope, ScopeRule
from planner.wiring.notes import WiringNote

YAML_SUFFIXES = (".yaml", ".yml")


class NodeKind(StrEnum):
    KUSTOMIZATION = "kustomization"  # a folder with a kustomization file
    GENERATED = "generated"  # a folder Flux builds without one: every YAML below it
    DIRECTORY = "directory"  # an Argo CD directory source: the manifests inside it
    CHART = "chart"  # a Helm chart folder: every file below it
    FILE = "file"
    MISSING = "missing"  # referenced but absent at this revision
    EXTERNAL = "external"  # a remote reference, never fetched
    CLUSTER = "cluster"  # one cluster's own root: its path plus what is generated for it
    BUNDLE = "bundle"  # a cluster path holding Fleet bundles: read per cluster only


_PREFIX_KINDS = {NodeKind.GENERATED, NodeKind.DIRECTORY, NodeKind.CHART, NodeKind.MISSING}


@dataclass(frozen=True)
class Node:
    id: str
    kind: NodeKind
    path: str  # the folder or file (for external nodes: the reference)
    scope: Scope
    layer: str | None
    file: str | None = None  # the kustomization file of a KUSTOMIZATION node
    recurse: bool = False

    @property
    def display(self) -> str:
        if self.file:
            return self.file
        if self.kind in (NodeKind.GENERATED, NodeKind.DIRECTORY, NodeKind.CHART, NodeKind.BUNDLE):
            return self.path.rstrip("/") + "/"
        if self.kind == NodeKind.CLUSTER:
            return f"{self.path.rstrip('/')}/ (as {self.id.split(':', 1)[1]})"
        return self.path


@dataclass(frozen=True)
class Edge:
    field: str
    ref: str


@dataclass(frozen=True)
class Link:
    """One step of a reference chain: `node`, reached from the previous one through `edge`."""

    node: Node
    edge: Edge | None


@dataclass(frozen=True)
class HierarchyProblem:
    """Something wrong in the repository under review, attached to the node it concerns."""

    code: str
    file: str
    message: str
    node: str
    line: int | None = None


def nodes_reaching(graph: Any, node_ids: Iterable[str]) -> set[str]:
    """Every node of a reference graph (also one being built) that reads any of `node_ids`,
    directly or not, themselves included."""
    targets = [n for n in node_ids if n in graph]
    seen: set[str] = set(targets)
    queue = deque(targets)
    pred = graph.pred
    while queue:
        current = queue.popleft()
        for up in pred[current]:
            if up not in seen:
                seen.add(up)
                queue.append(up)
    return seen


class Hierarchy:
    """The reference graph of one revision, with the queries the planner needs."""

    def __init__(
        self,
        graph: Any,
        revision: str,
        roots: Mapping[str, str],
        problems: list[HierarchyProblem],
        rules: tuple[ScopeRule, ...],
        wiring: list[WiringNote] | None = None,
    ) -> None:
        self.graph = graph
        self.revision = revision
        self.roots = dict(roots)  # cluster path -> node id
        self.problems = problems
        self.rules = rules
        # Per-cluster wiring (planner.wiring.percluster): cluster name -> its own root node;
        # expanded file -> cluster -> fingerprint; files git generators read.
        self.cluster_roots: dict[str, str] = {}
        self.expanded: dict[str, dict[str, str]] = {}
        self.expansion_inputs: dict[str, set[str]] = {}
        self.wiring = sorted(set(wiring or ()), key=lambda n: (n.file, n.tag, n.code, n.reason))
        self._exact: dict[str, tuple[str, ...]] = {}
        self._folders: dict[str, tuple[str, ...]] = {}  # folder -> its kustomization nodes
        self._prefix: dict[str, list[str]] = {}
        # The graph is complete here and never changes: nodes and closures are memoized
        # (guardrails ask for the closure of every cluster and of its shared layers).
        self._nodes: dict[str, Node] = {n: data["node"] for n, data in graph.nodes(data=True)}
        self._closures: dict[str, frozenset[str]] = {}
        self._last_root = ""
        self._index_owners()

    # ---- nodes -----------------------------------------------------------------------
    def node(self, node_id: str) -> Node:
        return self._nodes[node_id]

    def nodes(self) -> Iterator[Node]:
        for _, data in self.graph.nodes(data="node"):
            yield data

    def kustomization(self, node_id: str) -> Mapping[str, Any] | None:
        """The parsed kustomization of a KUSTOMIZATION node (None when broken or absent)."""
        doc: Mapping[str, Any] | None = self.graph.nodes[node_id].get("doc")
        return doc

    def edge(self, source: str, target: str) -> Edge:
        value: Edge = self.graph.edges[source, target]["edge"]
        return value

    def follow_mode(self, source: str, target: str) -> str | None:
        """How a Flux or Argo CD object pulls `target` in (`objects.FLUX`, `ARGO`, `CHART`,
        `FILE`), or None when the edge is a kustomize reference."""
        mode: str | None = self.graph.edges[source, target].get("follow")
        return mode

    def __contains__(self, node_id: object) -> bool:
        return node_id in self.graph

    def __len__(self) -> int:
        return int(self.graph.number_of_nodes())

    def root_of(self, cluster_path: str, cluster: str | None = None) -> str | None:
        """The root node of a cluster: its own (when ApplicationSets or Fleet bundles make
        what it reads depend on who it is), else the node of its path."""
        if cluster is not None and cluster in self.cluster_roots:
            return self.cluster_roots[cluster]
        return self.roots.get(snapshot.normalize(cluster_path))

    # ---- ownership -------------------------------------------------------------------
    def _index_owners(self) -> None:
        # Sets while indexing, tuples once done (a fleet has a few of them per cluster; a
        # kustomization node is indexed by its folder, not by each of its file names).
        exact: dict[str, set[str]] = {}
        folders: dict[str, set[str]] = {}
        prefix = self._prefix
        for node_id, attrs in self.graph.nodes.items():
            node: Node = attrs["node"]
            kind = node.kind
            if attrs.get("expanded"):
                continue  # its meaning is per cluster: see `expanded`
            if kind in (NodeKind.FILE, NodeKind.MISSING):
                exact.setdefault(node.path, set()).add(node_id)
            elif kind == NodeKind.KUSTOMIZATION:
                folders.setdefault(node.path, set()).add(node_id)
            if kind in _PREFIX_KINDS:
                prefix.setdefault(node.path, []).append(node_id)
            if kind == NodeKind.GENERATED:
                exact.setdefault(".sourceignore", set()).add(node_id)
            for link in attrs.get("links", ()):
                exact.setdefault(link, set()).add(node_id)
        self._exact = {path: tuple(ids) for path, ids in exact.items()}
        self._folders = {path: tuple(ids) for path, ids in folders.items()}

    def owners(self, path: str) -> set[str]:
        """Nodes whose content includes `path` (a file path, changed or not)."""
        found = set(self._exact.get(path, ()))
        name = path.rsplit("/", 1)[-1]
        if name in kustomize.KUSTOMIZATION_FILES:  # `name` at the root, else `folder/name`
            folder = "." if path == name else path[: -len(name) - 1]
            found.update(self._folders.get(folder, ()))
        directory = path
        while directory != ".":
            directory = snapshot.parent(directory)
            for node_id in self._prefix.get(directory, ()):
                if self._prefix_owns(self.node(node_id), directory, path):
                    found.add(node_id)
        return found

    @staticmethod
    def _prefix_owns(node: Node, directory: str, path: str) -> bool:
        name = path.rsplit("/", 1)[-1]
        if node.kind in (NodeKind.CHART, NodeKind.MISSING):
            return True
        if node.kind == NodeKind.GENERATED:
            # YAML manifests are FILE nodes of their own (exact owners); a new folder
            # kustomization or ignore file changes what is generated.
            return name in kustomize.KUSTOMIZATION_FILES or name == ".sourceignore"
        # DIRECTORY (Argo CD): the manifests directly inside, or below with recurse
        if not node.recurse and snapshot.parent(path) != directory:
            return False
        return name.endswith((*YAML_SUFFIXES, ".json", ".jsonnet", ".libsonnet")) or (
            name in kustomize.KUSTOMIZATION_FILES or name == "Chart.yaml"
        )

    def edge_bearing_paths(self) -> set[str]:
        """Files whose content decides edges: a change to one may change the graph."""
        paths: set[str] = set()
        for node in self.nodes():
            if node.kind == NodeKind.KUSTOMIZATION and node.file:
                paths.add(node.file)
            elif node.kind == NodeKind.FILE and self.graph.nodes[node.id].get("scanned"):
                paths.add(node.path)
        return paths

    # ---- reachability ----------------------------------------------------------------
    def closure(self, node_id: str) -> frozenset[str]:
        """Every node `node_id` reads, itself included."""
        return self._closure(node_id, prime=True)

    def _closure(self, node_id: str, *, prime: bool) -> frozenset[str]:
        found = self._closures.get(node_id)
        if found is not None:
            return found
        succ, closures = self.graph.succ, self._closures
        if prime:  # the layers a root shares with others: walked once, then reused
            for down in succ[node_id]:
                if down not in closures and self.graph.in_degree(down) > 1:
                    self._closure(down, prime=False)
        reached = {node_id}
        stack = [node_id]
        while stack:
            for down in succ[stack.pop()]:
                if down in reached:
                    continue
                known = closures.get(down)
                if known is not None:  # everything below it, already closed
                    reached |= known
                    continue
                reached.add(down)
                stack.append(down)
        found = frozenset(reached)
        if self.graph.in_degree(node_id) > 1:  # a shared layer: kept
            closures[node_id] = found
        else:  # a cluster's root, asked for by several checks in a row: the last one
            closures.pop(self._last_root, None)
            closures[node_id] = found
            self._last_root = node_id
        return found

    def reaching(self, node_ids: Iterable[str]) -> set[str]:
        """Every node that reads any of `node_ids` (directly or not), themselves included."""
        return nodes_reaching(self.graph, node_ids)

    def next_hops(self, targets: Iterable[str]) -> dict[str, str | None]:
        """For every node reaching `targets`: its successor on a shortest path (None at one)."""
        hops: dict[str, str | None] = {t: None for t in targets if t in self.graph}
        queue = deque(hops)
        pred = self.graph.pred
        while queue:
            current = queue.popleft()
            for up in sorted(pred[current]):
                if up not in hops:
                    hops[up] = current
                    queue.append(up)
        return hops

    def chain(self, start: str, hops: Mapping[str, str | None]) -> list[Link]:
        """The reference chain from `start` down to a target, following `next_hops`."""
        links = [Link(self.node(start), None)]
        current: str | None = start
        while current is not None:
            following = hops.get(current)
            if following is None:
                break
            links.append(Link(self.node(following), self.edge(current, following)))
            current = following
        return links

    def cycles(self) -> list[list[str]]:
        """Reference cycles of kustomize references, each as a list of node ids (kustomize
        refuses them). Edges of Flux and Argo CD objects never make one: a controller applies
        each object's path on its own, and `flux bootstrap`'s Kustomization applying the
        folder it lives in is the controller syncing itself."""
        import networkx as nx

        if nx.is_directed_acyclic_graph(self.graph):
            return []  # no cycle at all, so none of kustomize references alone
        kustomize_edges = [
            (u, v) for u, v, follow in self.graph.edges(data="follow") if follow is None
        ]
        sub: Any = nx.DiGraph(kustomize_edges)
        found = []
        for component in nx.strongly_connected_components(sub):
            if len(component) > 1:
                found.append(sorted(component))
            else:
                (only,) = component
                if sub.has_edge(only, only):
                    found.append([only])
        return sorted(found)

    def unmodelled(self) -> list[WiringNote]:
        """Objects met that can pull content in but are not modelled (see planner.wiring)."""
        return [note for note in self.wiring if note.unmodelled]

    def layer_of(self, node_id: str) -> str:
        """The folder a node belongs to, for grouping changes: scope layer, else its root."""
        node = self.node(node_id)
        if node.layer:
            return node.layer
        if node.kind != NodeKind.FILE:
            return node.path
        for up in sorted(self.graph.pred[node_id]):
            up_node = self.node(up)
            if up_node.kind not in (NodeKind.FILE, NodeKind.CLUSTER):
                return up_node.layer or up_node.path
        return snapshot.parent(node.path)
