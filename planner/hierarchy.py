"""The hierarchy graph: which files and folders each cluster's desired state is built from.

Nodes are kustomization roots, the files they reference, folders pulled in by Flux
`Kustomization`s and Argo CD `Application`s, and remote references (marked external, never
fetched). An edge says "the source reads the target" and remembers the field and the text of
the reference, so a plan can print the chain from a cluster's path down to a changed file.

`Hierarchy` wraps the networkx graph and answers the named questions the planner asks:
which nodes own a changed path, which nodes reach a set of nodes, the chain from a cluster
root to a change, the layer and scope of a node, and the problems found while building
(broken YAML, missing or escaping references, cycles). `build_hierarchy` builds it from a
`Snapshot` of one revision; it is pure and never executes or fetches anything.
"""

from __future__ import annotations

import dataclasses
import fnmatch
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from planner import kustomize, snapshot, yamlsafe
from planner.snapshot import Snapshot
from planner.wiring import artifacts, sources
from planner.wiring.appset import ClusterInfo
from planner.wiring.notes import Unmodelled, WiringNote, other_revision
from planner.wiring.objects import ARGO, CHART, FLUX, AppSetDoc, Follow, Scan, SourceRef
from planner.wiring.scanner import might_contain_objects, scan_documents

YAML_SUFFIXES = (".yaml", ".yml")


class Scope(StrEnum):
    """How much of the fleet a layer is meant for."""

    GLOBAL = "global"
    ENVIRONMENT = "environment"
    REGION = "region"
    CLUSTER = "cluster"
    SHARED = "shared"


class ScopeRule(BaseModel):
    """A path pattern (one glob per path component) and the scope of what it matches."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    pattern: str = Field(description="e.g. `environments/*`; matches that folder and below.")
    scope: Scope


DEFAULT_SCOPES: tuple[ScopeRule, ...] = (
    ScopeRule(pattern="base", scope=Scope.GLOBAL),
    ScopeRule(pattern="environments/*", scope=Scope.ENVIRONMENT),
    ScopeRule(pattern="regions/*", scope=Scope.REGION),
    ScopeRule(pattern="clusters/*", scope=Scope.CLUSTER),
)


class HierarchyConfig(BaseModel):
    """How the hierarchy is read: scope patterns and which Flux sources are this repo."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    scopes: tuple[ScopeRule, ...] = Field(default=DEFAULT_SCOPES)
    flux_sources: tuple[str, ...] = Field(
        default=("flux-system",),
        description="Flux GitRepository names that always mean this repository.",
    )
    follow: bool = Field(default=True, description="Follow Flux and Argo CD objects.")


def classify(path: str, rules: Iterable[ScopeRule]) -> tuple[Scope, str | None]:
    """The scope of a path and the layer folder that gave it (longest matching rule)."""
    return _Classifier(tuple(rules))(path)


_Matcher = Callable[[str], object]


class _Classifier:
    """`classify` with the rules compiled once: one matcher per path component."""

    def __init__(self, rules: tuple[ScopeRule, ...]) -> None:
        self.rules: list[tuple[int, Scope, list[_Matcher]]] = []
        for rule in rules:
            matchers: list[_Matcher] = []
            for part in rule.pattern.strip("/").split("/"):
                if any(c in part for c in "*?["):
                    matchers.append(re.compile(fnmatch.translate(part)).match)
                else:
                    matchers.append(part.__eq__)
            self.rules.append((len(matchers), rule.scope, matchers))

    def __call__(self, path: str) -> tuple[Scope, str | None]:
        parts = path.split("/")
        best: tuple[int, Scope] | None = None
        for size, scope, matchers in self.rules:
            if (
                len(parts) >= size
                and (best is None or size > best[0])
                and all(m(p) for m, p in zip(matchers, parts, strict=False))
            ):
                best = (size, scope)
        if best is None:
            return Scope.SHARED, None
        return best[1], "/".join(parts[: best[0]])


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
_BREADTH = {
    NodeKind.KUSTOMIZATION: 0,
    NodeKind.DIRECTORY: 1,
    NodeKind.GENERATED: 2,
    NodeKind.CHART: 3,
}


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


@dataclass
class _Parsed:
    docs: list[Any] = field(default_factory=list)
    error: str | None = None
    line: int | None = None
    refs: list[kustomize.Reference] | None = None  # memo: the references of a kustomization


class ParseCache:
    """Parsed YAML by (path, blob id): the base graph reuses what the head graph parsed."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], _Parsed] = {}

    def get(self, path: str, blob: str | None) -> _Parsed | None:
        return self._entries.get((path, blob)) if blob else None

    def put(self, path: str, blob: str | None, parsed: _Parsed) -> None:
        if blob:
            self._entries[(path, blob)] = parsed


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
        self._exact: dict[str, set[str]] = {}
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
        """How a Flux or Argo CD object pulls `target` in (`FLUX`, `ARGO`, `CHART`,
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
        exact, prefix = self._exact, self._prefix
        for node_id, attrs in self.graph.nodes.items():
            node: Node = attrs["node"]
            kind = node.kind
            if attrs.get("expanded"):
                continue  # its meaning is per cluster: see `expanded`
            if kind in (NodeKind.FILE, NodeKind.MISSING):
                exact.setdefault(node.path, set()).add(node_id)
            elif kind == NodeKind.KUSTOMIZATION:
                for name in kustomize.KUSTOMIZATION_FILES:
                    path = name if node.path == "." else f"{node.path}/{name}"
                    exact.setdefault(path, set()).add(node_id)
            if kind in _PREFIX_KINDS:
                prefix.setdefault(node.path, []).append(node_id)
            if kind == NodeKind.GENERATED:
                exact.setdefault(".sourceignore", set()).add(node_id)
            for link in attrs.get("links", ()):
                exact.setdefault(link, set()).add(node_id)

    def owners(self, path: str) -> set[str]:
        """Nodes whose content includes `path` (a file path, changed or not)."""
        found = set(self._exact.get(path, ()))
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
    def closure(self, node_id: str) -> set[str]:
        """Every node `node_id` reads, itself included."""
        found = self._closures.get(node_id)
        if found is None:
            import networkx as nx  # on first use: `rollout status` never builds a graph

            reached: set[str] = nx.descendants(self.graph, node_id)
            reached.add(node_id)
            found = frozenset(reached)
            if self.graph.in_degree(node_id) > 1:  # a shared layer: kept
                self._closures[node_id] = found
            else:  # a cluster's root, asked for by several checks in a row: the last one
                self._closures.pop(self._last_root, None)
                self._closures[node_id] = found
                self._last_root = node_id
        return set(found)

    def reaching(self, node_ids: Iterable[str]) -> set[str]:
        """Every node that reads any of `node_ids` (directly or not), themselves included."""
        targets = [n for n in node_ids if n in self.graph]
        seen: set[str] = set(targets)
        queue = deque(targets)
        pred = self.graph.pred
        while queue:
            current = queue.popleft()
            for up in pred[current]:
                if up not in seen:
                    seen.add(up)
                    queue.append(up)
        return seen

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
        """Objects met that can pull content in but are not modelled (see planner.wiring.notes)."""
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


# ------------------------------------------------------------------------------ building


def build_hierarchy(
    snap: Snapshot,
    roots: Iterable[str],
    config: HierarchyConfig | None = None,
    *,
    repo_urls: Iterable[str] = (),
    check_paths: Iterable[str] = (),
    cache: ParseCache | None = None,
    refs: Iterable[str] = (),
    clusters: Sequence[ClusterInfo] = (),
) -> Hierarchy:
    """Build the graph of everything `roots` (cluster paths) read at this revision.

    `refs`: the GitRepository refs (`branch=main`) that mean the revision being planned
    when no bootstrap source says so (see `sources.SourceResolver`). With `clusters` (the
    inventory of this revision), ApplicationSets and Fleet bundles are expanded per cluster
    (`planner.wiring.percluster`)."""
    builder = _Builder(snap, config or HierarchyConfig(), repo_urls, set(check_paths), cache)
    builder.resolver.planned_refs = frozenset(refs)
    roots = list(roots)
    if clusters and builder.config.follow:
        from planner.wiring import percluster

        builder.bundle_roots = percluster.bundle_roots(snap, roots)
    for root in sorted(set(roots)):
        builder.add_root(root)
    builder.run()
    if builder.config.follow:
        from planner.wiring import percluster

        percluster.expand_clusters(builder, clusters)
    graph = Hierarchy(
        builder.graph, snap.revision, builder.roots, builder.problems, builder.rules, builder.wiring
    )
    graph.cluster_roots = builder.cluster_roots
    graph.expanded = builder.expanded
    graph.expansion_inputs = builder.expansion_inputs
    return graph


class _Builder:
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
        self._classify = _Classifier(tuple(self.rules))
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

    def _parse(self, path: str, data: bytes | None = None) -> _Parsed:
        blob = self.snap.blob_id(path)
        cached = self.cache.get(path, blob)
        if cached is not None:
            return cached
        if data is None:
            data = self._read(path)
        if data is None:
            parsed = _Parsed(error="cannot be read")
        else:
            try:
                parsed = _Parsed(docs=yamlsafe.load_all(data))
            except yamlsafe.YamlError as exc:
                parsed = _Parsed(error=str(exc), line=exc.line)
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
        for name in kustomize.KUSTOMIZATION_FILES:
            path = name if directory == "." else f"{directory}/{name}"
            if self.snap.exists(path) and not self.snap.is_dir(path):
                return path
        return None

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

    # ---- expansion -------------------------------------------------------------------
    def add_root(self, path: str) -> None:
        norm = snapshot.normalize(path)
        if norm in self.bundle_roots:  # what it deploys is decided per cluster
            self.roots[norm] = self._add(self._make(NodeKind.BUNDLE, norm))
            return
        self.roots[norm] = self.locate(norm, "root", origin=norm, ref=norm)
        self._mark_scan(self.roots[norm], patch=False)  # a cluster path may be one manifest file

    def run(self) -> None:
        deferred: list[tuple[str, Follow]] = []
        while True:
            while self.queue:
                self._expand(self.queue.popleft())
            work, self.pending = self.pending + deferred, []
            deferred = []
            progressed = False
            for origin, follow in work:
                decided = self._follow(origin, follow, final=False)
                if decided:
                    progressed = True
                else:
                    deferred.append((origin, follow))
            if not progressed and not self.queue:
                for origin, follow in deferred:
                    self._follow(origin, follow, final=True)
                deferred = []
                if not self.queue and not self.pending:
                    return

    def _expand(self, node_id: str) -> None:
        node: Node = self.graph.nodes[node_id]["node"]
        if node.kind == NodeKind.KUSTOMIZATION and node.file:
            self._expand_kustomization(node)
        elif node.kind == NodeKind.GENERATED:
            self._expand_generated(node, node.path)
        elif node.kind == NodeKind.DIRECTORY:
            self._expand_directory(node, node.path)
        elif node.kind == NodeKind.CHART and self.config.follow:
            self._scan_chart(node)
        elif node.kind == NodeKind.FILE and self.graph.nodes[node_id].get("scan"):
            self._scan_file(node)

    def _expand_kustomization(self, node: Node) -> None:
        assert node.file is not None
        parsed = self._parse(node.file)
        if parsed.error is not None:
            self._problem("broken-yaml", node.file, parsed.error, node.id, parsed.line)
            return
        if len(parsed.docs) != 1 or not isinstance(parsed.docs[0], Mapping):
            self._problem(
                "broken-yaml", node.file, "a kustomization must be one YAML mapping", node.id
            )
            return
        doc = parsed.docs[0]
        self.graph.nodes[node.id]["doc"] = doc
        if parsed.refs is None:
            parsed.refs = kustomize.references(doc)
        for reference in parsed.refs:
            self._reference(node, reference)
        if self.config.follow:
            for text in kustomize.inline_patches(doc):
                try:
                    docs = yamlsafe.load_all(text.encode())
                except yamlsafe.YamlError:
                    continue
                self._queue_follows(node.id, scan_documents(docs, patch=True))

    def _reference(self, node: Node, reference: kustomize.Reference) -> None:
        assert node.file is not None
        if reference.remote:
            target = f"remote:{reference.ref}"
            if target not in self.graph:
                self.graph.add_node(
                    target, node=Node(target, NodeKind.EXTERNAL, reference.ref, Scope.SHARED, None)
                )
            self._edge(node.id, target, reference.field, reference.ref)
            return
        if reference.ref.startswith("/"):
            target = self._add(self._make(NodeKind.MISSING, reference.ref))
            self._problem(
                "absolute-path",
                node.file,
                f"{reference.field}: {reference.ref!r} is an absolute path",
                target,
            )
            self._edge(node.id, target, reference.field, reference.ref)
            return
        path = snapshot.join(node.path, reference.ref)
        target = self.locate(path, reference.mode, origin=node.file, ref=reference.ref)
        self._edge(node.id, target, reference.field, reference.ref)
        if reference.field in ("resources", "bases"):
            self._mark_scan(target, patch=False)
        elif "patch" in reference.field:
            self._mark_scan(target, patch=True)

    def _mark_scan(self, node_id: str, *, patch: bool) -> None:
        attrs = self.graph.nodes[node_id]
        if attrs["node"].kind != NodeKind.FILE or attrs.get("scan"):
            return
        attrs["scan"] = "patch" if patch else "resource"
        self.queue.append(node_id)

    def _scan_file(self, node: Node) -> None:
        attrs = self.graph.nodes[node.id]
        want_check = node.path in self.check_paths
        if not self.config.follow and not want_check:
            return
        data = None
        cached = self.cache.get(node.path, self.snap.blob_id(node.path))
        if cached is None and attrs.get("scan") == "resource" and not want_check:
            data = self._read(node.path)
            if data is None or not might_contain_objects(data):
                return
        parsed = cached or self._parse(node.path, data)
        if parsed.error is not None:
            self._problem("broken-yaml", node.path, parsed.error, node.id, parsed.line)
            return
        if self.config.follow:
            attrs["scanned"] = True
            patch = attrs.get("scan") == "patch"
            self._queue_follows(node.id, scan_documents(parsed.docs, patch=patch))

    def _queue_follows(self, origin: str, scan: Scan) -> None:
        self.resolver.learn(scan.sources, scan.artifacts)
        self.pending.extend((origin, follow) for follow in scan.follows)
        if scan.appsets:
            known = self.appsets.setdefault(origin, [])
            known.extend(a for a in scan.appsets if a not in known)
        for follow in scan.follows:
            if not follow.target:
                self.object_sources.setdefault(follow.tag, follow.source)
                self.object_sources.setdefault(_kind_name(follow.tag), follow.source)
        for item in scan.unmodelled:
            self._note(origin, item)

    def _note(self, origin: str, item: Unmodelled) -> None:
        """Record a wiring note (planner.wiring.notes) on the node of the file declaring it."""
        node: Node = self.graph.nodes[origin]["node"]
        self.wiring.append(
            WiringNote(item.code, origin, node.display, item.tag, item.reason, item.paths)
        )

    def _external(self, origin: str, follow: Follow, path: str) -> None:
        target = f"remote:{_source_text(follow.source)}//{path}"
        if target not in self.graph:
            self.graph.add_node(
                target, node=Node(target, NodeKind.EXTERNAL, path, Scope.SHARED, None)
            )
        self._edge(origin, target, follow.tag, follow.path, follow.mode)

    def _follow(self, origin: str, follow: Follow, *, final: bool) -> bool:
        if follow.target and follow.source is None:
            # a patch retargeting a path: the source is the patched object's
            known = [
                self.object_sources[key]
                for key in (follow.target, _kind_name(follow.target))
                if key in self.object_sources
            ]
            if not known and not final:
                return False
            if known and known[0] is not None:
                follow = dataclasses.replace(follow, source=known[0])
        path = snapshot.normalize(follow.path)
        exists = not snapshot.escapes(path) and self.snap.exists(path)
        if follow.source is not None and follow.source.kind == "ExternalArtifact":
            return self._follow_artifact(origin, follow, path, final=final)
        decided = self.resolver.decide(follow.source, exists)
        if decided is None:
            if not final:
                return False
            decided = sources.LOCAL if exists else sources.EXTERNAL
        if decided == sources.OTHER_REF and follow.source is not None and not follow.target:
            found = self.resolver.git_source(follow.source)
            ref = found.ref if found is not None else "?"
            self._note(origin, other_revision(follow.tag, _source_text(follow.source), ref))
        if decided == sources.LOCAL and not exists and self._in_include(follow, path):
            decided = sources.EXTERNAL  # another repository mounted by `spec.include`
        if decided != sources.LOCAL:
            self._external(origin, follow, path)
            return True
        self._locate_follow(origin, follow, path, follow.mode)
        return True

    def _in_include(self, follow: Follow, path: str) -> bool:
        if follow.source is None or follow.source.kind != "GitRepository":
            return False
        found = self.resolver.git_source(follow.source)
        return found is not None and any(
            path == inc or path.startswith(inc + "/") for inc in found.includes
        )

    def _locate_follow(self, origin: str, follow: Follow, path: str, how: str) -> None:
        mode = {FLUX: "flux", ARGO: ARGO, CHART: CHART}.get(how, kustomize.FILE)
        target = self.locate(
            path,
            mode,
            origin=self.graph.nodes[origin]["node"].display,
            ref=follow.path,
            recurse=follow.recurse,
        )
        self._edge(origin, target, follow.tag, follow.path, how)

    def _follow_artifact(self, origin: str, follow: Follow, path: str, *, final: bool) -> bool:
        """A Flux Kustomization reading an ExternalArtifact: the repository folders the
        ArtifactGenerator copies to `path` (see planner.wiring.artifacts)."""
        assert follow.source is not None
        specs = self.resolver.artifact(follow.source)
        if not specs:
            if not final:
                return False
            reason = f"no ArtifactGenerator in the repository produces {follow.source.name}"
            self._note(origin, Unmodelled(follow.tag, f"ExternalArtifact: {reason}"))
            return True

        def decide(source: SourceRef) -> bool | None:
            decided = self.resolver.decide(source, True)
            if decided is None and final:
                return True
            return None if decided is None else decided == sources.LOCAL

        mapped = artifacts.map_paths(specs, path, decide, self.snap.exists)
        name = follow.source.name
        if mapped.undecided and not final:
            return False
        for folder in mapped.folders:
            self._locate_follow(origin, follow, folder, FLUX)
        for folder in mapped.contents:
            self._locate_follow(origin, follow, folder, CHART)
        for reason in mapped.unmodelled:
            self._note(origin, Unmodelled(follow.tag, f"ExternalArtifact {name}: {reason}"))
        if not mapped.folders and not mapped.contents:
            if mapped.external and not mapped.unmodelled:
                self._external(origin, follow, path)
            elif not mapped.unmodelled:
                self._note(
                    origin,
                    Unmodelled(
                        follow.tag,
                        f"path {follow.path} of ExternalArtifact {name} maps to no "
                        "repository folder through the generator's copy rules",
                    ),
                )
        return True

    def _expand_generated(self, node: Node, directory: str) -> None:
        """What kustomize-controller generates for a folder without a kustomization.

        Every YAML file whose documents are all Kubernetes objects (apiVersion and kind)
        becomes a resource; sub-folders with a kustomization become resources; other
        sub-folders are walked. A YAML file that does not parse breaks the build, so it is
        kept (and reported); other YAML files (values, configs) are not read.
        """
        subdirs, files = self.snap.list_dir(directory)
        for file in files:
            if file.endswith(YAML_SUFFIXES) and self._is_manifest(file):
                target = self._add(self._make(NodeKind.FILE, file))
                self._edge(node.id, target, "generated", file)
                self._mark_scan(target, patch=False)
        for sub in subdirs:
            if self._kustomization_file(sub) is not None:
                target = self.locate(sub, kustomize.RESOURCE, origin=node.display, ref=sub)
                self._edge(node.id, target, "generated", sub)
            else:
                self._expand_generated(node, sub)

    def _is_manifest(self, path: str) -> bool:
        parsed = self._parse(path)
        if parsed.error is not None:
            return True
        return bool(parsed.docs) and all(
            isinstance(d, Mapping) and "kind" in d and "apiVersion" in d for d in parsed.docs
        )

    def _scan_chart(self, node: Node) -> None:
        """Argo CD objects a local Helm chart declares in its templates (app-of-apps)."""
        if not self.snap.exists("Chart.yaml" if node.path == "." else f"{node.path}/Chart.yaml"):
            return
        from planner.wiring import helmapps, percluster

        found = helmapps.chart_objects(self.snap, node.path)
        for path in found.templates:  # what the chart declares depends on their content
            self.expansion_inputs.setdefault(path, set()).add(node.path)
        for path, reason in found.unmodelled:
            percluster.report_unmodelled(
                self, node.id, f"Helm chart {node.path}", f"{path}: {reason}"
            )
        if found.docs:
            self._queue_follows(node.id, scan_documents(found.docs))

    def _expand_directory(self, node: Node, directory: str) -> None:
        """An Argo CD directory source: its manifests (and below, with recurse)."""
        subdirs, files = self.snap.list_dir(directory)
        for file in files:
            if file.endswith((*YAML_SUFFIXES, ".json")):
                target = self._add(self._make(NodeKind.FILE, file))
                self._edge(node.id, target, "directory", file)
                self._mark_scan(target, patch=False)
        if node.recurse:
            for sub in subdirs:
                self._expand_directory(node, sub)


def _kind_name(tag: str) -> str:
    """`Kustomization apps/dev-team` -> `Kustomization dev-team` (namespace left out)."""
    kind, _, name = tag.partition(" ")
    return f"{kind} {name.rsplit('/', 1)[-1]}"


def _source_text(source: SourceRef | None) -> str:
    if source is None:
        return "unknown"
    if source.kind == "url":
        return source.url or "unknown"
    return (
        f"{source.kind}/{source.namespace}/{source.name}"
        if source.namespace
        else f"{source.kind}/{source.name}"
    )


def edges_unchanged(
    graph: Hierarchy,
    snap: Snapshot,
    other: Snapshot,
    paths: Iterable[str],
    *,
    follow: bool = True,
    cache: ParseCache | None = None,
) -> bool:
    """True when `paths` (files of `graph`'s revision `snap` whose content differs at `other`,
    none added, deleted or renamed) decide exactly the same edges at `other`.

    Then the graph of `other` is `graph` itself: a change of a kustomization that edits a
    generator literal or an inline patch that retargets nothing does not need a second build.
    """
    cache = cache if cache is not None else ParseCache()
    bearing = graph.edge_bearing_paths()
    broken = {p.file for p in graph.problems if p.code == "broken-yaml"}
    for path in paths:
        if path in graph.expanded or path in graph.expansion_inputs or path in broken:
            return False  # what it generates depends on its content, or it did not parse
        if path not in bearing:
            continue
        if snap.symlink_target(path) is not None or other.symlink_target(path) is not None:
            return False
        if _edge_facts(snap, path, follow, cache) != _edge_facts(other, path, follow, cache):
            return False
    return True


def _edge_facts(snap: Snapshot, path: str, follow: bool, cache: ParseCache) -> object:
    """What the edges from one file depend on: its references and the objects it declares."""
    blob = snap.blob_id(path)
    parsed = cache.get(path, blob)
    if parsed is None:
        data = snap.read(path)
        if data is None:
            return None
        try:
            parsed = _Parsed(docs=yamlsafe.load_all(data))
        except yamlsafe.YamlError as exc:
            parsed = _Parsed(error=str(exc), line=exc.line)
        cache.put(path, blob, parsed)
    if parsed.error is not None:
        return ("error", parsed.error, parsed.line)
    facts: list[object] = []
    if path.rsplit("/", 1)[-1] in kustomize.KUSTOMIZATION_FILES:
        if len(parsed.docs) != 1 or not isinstance(parsed.docs[0], Mapping):
            return ("not-a-mapping",)
        doc = parsed.docs[0]
        facts.append(kustomize.references(doc))
        if follow:
            facts.append(kustomize.inline_patches(doc))
    if follow:
        scan = scan_documents(parsed.docs)
        facts.append((scan.follows, scan.sources, scan.appsets, scan.artifacts, scan.unmodelled))
    return facts
