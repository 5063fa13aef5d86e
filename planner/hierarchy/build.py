"""Building the hierarchy graph of one revision from its cluster paths.

`build_hierarchy` walks a `Snapshot` from every cluster path: kustomizations and what they
reference, the folders kustomize-controller generates a kustomization for, Argo CD directory
sources, local Helm charts, and (through `planner.hierarchy.follow`) the Flux and Argo CD
objects found on the way. It is pure and never executes or fetches anything.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from planner import kustomize, snapshot, yamlsafe
from planner.hierarchy.follow import Follower
from planner.hierarchy.graph import YAML_SUFFIXES, Hierarchy, Node, NodeKind
from planner.hierarchy.parsing import ParseCache
from planner.hierarchy.scopes import HierarchyConfig, Scope
from planner.snapshot import Snapshot
from planner.wiring.appset import ClusterInfo
from planner.wiring.objects import Follow
from planner.wiring.scanner import might_contain_objects, scan_documents


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


class _Builder(Follower):
    """The walk: expand every queued node, then follow the objects met, until both are done."""

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
