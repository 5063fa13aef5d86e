"""Per-cluster wiring: ApplicationSets and Fleet bundles, expanded for each inventory cluster.

Most of the hierarchy is the same for every cluster that reads a folder. Two kinds of object
are not: an Argo CD `ApplicationSet` generates different Applications for different
clusters (`planner.wiring.appset`), and a Rancher Fleet bundle (`fleet.yaml`) deploys different
folders and files to different clusters (`planner.wiring.fleetbundle`). For a cluster that reaches
one, the graph gets a node of its own (`cluster:<name>`): it reads the cluster's path as
before, plus exactly what the generators and customizations select for *this* cluster.

A file whose objects are all expanded this way (an ApplicationSet file, `fleet.yaml`) is not
content like any other: what it means to each cluster is recorded as a fingerprint
(`Hierarchy.expanded`), and a change to it, or to a file a git `files` generator reads,
reaches the clusters whose fingerprint differs between base and head (`changed_clusters`).
An ApplicationSet's fingerprint for a cluster whose Argo CD holds it includes the set itself
(the object is part of that cluster's desired state; a comment is not); for the clusters it
deploys to, the Applications it generates for them. `fleet.yaml` is not an object: its
fingerprint is the options that apply to the cluster.

What cannot be expanded is reported through `report_unmodelled` (one call), never dropped.
Pure: works on the hierarchy builder over a snapshot.
"""

from __future__ import annotations

import hashlib
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

from planner import kustomize, snapshot
from planner.wiring import appset, fleetbundle, objects, scanner
from planner.wiring.appset import ClusterInfo
from planner.wiring.notes import Unmodelled

if TYPE_CHECKING:
    from planner.hierarchy.build import _Builder
    from planner.hierarchy.graph import Hierarchy

CLUSTER_PREFIX = "cluster:"
_MANIFEST_SUFFIXES = (".yaml", ".yml", ".json")


class _RepoView:
    """The snapshot as a git generator sees it."""

    def __init__(self, builder: _Builder, files: Sequence[str]) -> None:
        self.builder = builder
        self._files = sorted(files)
        dirs: set[str] = set()
        for path in self._files:
            d = snapshot.parent(path)
            while d != "." and d not in dirs:
                dirs.add(d)
                d = snapshot.parent(d)
        self._dirs = sorted(dirs)

    def directories(self) -> Sequence[str]:
        return self._dirs

    def file_paths(self) -> Sequence[str]:
        return self._files

    def read(self, path: str) -> bytes | None:
        return self.builder.snap.read(path)

    def is_local(self, repo_url: str) -> bool:
        decided = self.builder.resolver.is_local(objects.SourceRef("url", url=repo_url), True)
        return bool(decided)

    def is_planned(self, revision: str) -> bool:
        if revision in ("", "HEAD"):
            return True
        name = revision.removeprefix("refs/heads/")
        return self.builder.resolver.ref_is_planned(f"branch={name}")


def _join(folder: str, rel: str) -> str:
    joined = posixpath.join(folder, rel) if folder != "." else rel
    return joined if rel.endswith("/") else snapshot.normalize(joined)


def report_unmodelled(
    builder: _Builder, node: str, tag: str, reason: str, paths: Iterable[str] = ()
) -> None:
    """The one place unexpandable wiring is reported (an `unmodelled-wiring` note on the
    node of the file declaring it, see planner.wiring.notes)."""
    builder._note(node, Unmodelled(tag, reason, paths=tuple(sorted(set(paths)))))


class _Expander:
    def __init__(self, builder: _Builder, clusters: Sequence[ClusterInfo]) -> None:
        self.b = builder
        self.clusters = list(clusters)
        self.by_name = {c.name: c for c in self.clusters}
        self.files = list(builder.snap.files())
        self.view: _RepoView | None = None
        self.cluster_roots: dict[str, str] = {}
        self.prints: dict[str, dict[str, list[str]]] = {}  # file -> cluster -> fingerprints
        self._reported: set[tuple[str, str]] = set()

    # ---- nodes -------------------------------------------------------------------
    def cluster_node(self, name: str) -> str:
        known = self.cluster_roots.get(name)
        if known is not None:
            return known
        from planner.hierarchy.graph import Node, NodeKind

        cluster = self.by_name[name]
        path = snapshot.normalize(cluster.path)
        scope, layer = self.b._classify(path)
        node_id = f"{CLUSTER_PREFIX}{name}"
        self.b._add(Node(node_id, NodeKind.CLUSTER, path, scope, layer))
        self.cluster_roots[name] = node_id
        return node_id

    def link_root(self, name: str) -> None:
        node_id = self.cluster_node(name)
        root = self.b.roots.get(snapshot.normalize(self.by_name[name].path))
        if root is not None:
            self.b._edge(node_id, root, "cluster path", self.by_name[name].path, "root")

    def record(self, file: str, cluster: str, fingerprint: str) -> None:
        self.prints.setdefault(file, {}).setdefault(cluster, []).append(fingerprint)

    def unmodelled(self, tag: str, reason: str, node: str, paths: Iterable[str] = ()) -> None:
        if (tag, reason) not in self._reported:
            self._reported.add((tag, reason))
            report_unmodelled(self.b, node, tag, reason, paths)

    # ---- Fleet bundles -------------------------------------------------------------
    def fleet(self) -> None:
        bundle_files = sorted(
            p for p in self.files if p.rsplit("/", 1)[-1] in fleetbundle.FLEET_FILES
        )
        if not bundle_files:
            return
        folders = {snapshot.parent(p): p for p in bundle_files}
        for cluster in self.clusters:
            path = snapshot.normalize(cluster.path)
            inside = [f for f in folders if path in (f, ".") or f.startswith(path + "/")]
            if not inside or not self.b.snap.is_dir(path):
                continue
            node = self.cluster_node(cluster.name)
            bundles = sorted(set(inside) | {path})
            for folder in bundles:
                self.bundle(node, cluster, folder, folders.get(folder), set(inside))

    def bundle(
        self, node: str, cluster: ClusterInfo, folder: str, file: str | None, others: set[str]
    ) -> None:
        from planner.hierarchy.graph import NodeKind

        doc: Any = {}
        if file is not None:
            fleet_node = self.b._add(self.b._make(NodeKind.FILE, file))
            self.b.graph.nodes[fleet_node]["expanded"] = True
            self.b._edge(node, fleet_node, "fleet bundle", file, objects.FILE)
            parsed = self.b._parse(file)
            if parsed.error is not None:
                self.b._problem("broken-yaml", file, parsed.error, fleet_node, parsed.line)
                self.b.graph.nodes[fleet_node]["expanded"] = False
            elif parsed.docs:
                doc = parsed.docs[0]
        sel = fleetbundle.select(doc, folder, cluster)
        if file is not None:
            self.record(file, cluster.name, sel.fingerprint)
            for reason in sel.unmodelled:
                self.unmodelled(f"Fleet bundle {folder}", reason, fleet_node, [folder])
        if not sel.deployed:
            return
        tag = f"fleet bundle {folder}"
        chart = sel.chart
        if chart is None and self._exists(f"{folder}/Chart.yaml"):
            chart = folder
        if chart == folder:
            # The bundle folder is the chart: every file of it but fleet.yaml, the overlays
            # and the values files customizations choose (those go to their clusters only).
            chosen = fleetbundle.all_values_files(doc, folder)
            for path in self._below(folder, others):
                if path not in chosen and not path.startswith(_join(folder, "overlays/")):
                    self._edge_to(node, path, kustomize.FILE, tag)
        elif chart is not None:
            self._edge_to(node, chart, objects.CHART, tag)
        for values in sel.values_files:
            if self.b.snap.exists(values):  # a missing one is not deployed (fingerprinted)
                self._edge_to(node, values, kustomize.FILE, tag)
        for overlay in sel.overlays:
            if self.b.snap.is_dir(overlay):
                self._edge_to(node, overlay, objects.CHART, tag)
        if sel.kustomize_dir is not None:
            self._edge_to(node, sel.kustomize_dir, kustomize.RESOURCE, tag)
        elif self.b._kustomization_file(folder) is not None:
            self._edge_to(node, folder, kustomize.RESOURCE, tag)
        elif chart is None:
            for manifest in self._manifests(folder, others):
                target = self._edge_to(node, manifest, objects.ARGO, tag)
                self.b._mark_scan(target, patch=False)

    def _exists(self, path: str) -> bool:
        path = snapshot.normalize(path)
        return self.b.snap.exists(path) and not self.b.snap.is_dir(path)

    def _edge_to(self, node: str, path: str, mode: str, tag: str) -> str:
        target = self.b.locate(snapshot.normalize(path), mode, origin=tag, ref=path)
        follow = {objects.CHART: objects.CHART, kustomize.FILE: objects.FILE}.get(
            mode, objects.ARGO
        )
        if mode == kustomize.RESOURCE:
            follow = "root"
        self.b._edge(node, target, tag, path, follow)
        return target

    def _below(self, folder: str, bundles: set[str]) -> list[str]:
        """Every file of a bundle folder but `fleet.yaml` and sub-bundles."""
        found: list[str] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            subdirs, files = self.b.snap.list_dir(current)
            found.extend(f for f in files if f.rsplit("/", 1)[-1] not in fleetbundle.FLEET_FILES)
            pending.extend(sub for sub in subdirs if sub not in bundles)
        return sorted(found)

    def _manifests(self, folder: str, bundles: set[str]) -> list[str]:
        """Plain manifests of a bundle: its YAML/JSON files, not `overlays/`, not sub-bundles."""
        found: list[str] = []
        pending = [folder]
        while pending:
            current = pending.pop()
            subdirs, files = self.b.snap.list_dir(current)
            for file in files:
                name = file.rsplit("/", 1)[-1]
                if name.endswith(_MANIFEST_SUFFIXES) and name not in fleetbundle.FLEET_FILES:
                    found.append(file)
            for sub in subdirs:
                if sub in bundles or sub == _join(folder, "overlays"):
                    continue
                pending.append(sub)
        return sorted(found)

    # ---- ApplicationSets -----------------------------------------------------------
    def appsets(self) -> None:
        done: set[tuple[str, int, str]] = set()
        memo: dict[tuple[str, int], appset.Expansion] = {}
        while True:
            progressed = False
            holders = sorted(self.b.appsets)
            reaching = {a: self._reaching(a) for a in holders}
            for cluster in self.clusters:
                start = self.cluster_roots.get(cluster.name) or self.b.roots.get(
                    snapshot.normalize(cluster.path)
                )
                if start is None:
                    continue
                for holder in holders:
                    if start not in reaching[holder]:
                        continue
                    for index, found in enumerate(self.b.appsets[holder]):
                        if (holder, index, cluster.name) in done:
                            continue
                        done.add((holder, index, cluster.name))
                        progressed = True
                        key = (holder, index)
                        first = key not in memo
                        if first:
                            memo[key] = self._expand(holder, found)
                        self._deliver(cluster.name, holder, found, memo[key], first)
            self.b.run()
            if not progressed:
                return

    def _reaching(self, node: str) -> set[str]:
        from planner.hierarchy.graph import nodes_reaching

        return nodes_reaching(self.b.graph, [node])

    def _expand(self, holder: str, found: objects.AppSetDoc) -> appset.Expansion:
        if self.view is None:
            self.view = _RepoView(self.b, self.files)
        file = self.b.graph.nodes[holder]["node"].path
        doc = found.doc()
        result = appset.expand(doc, self.clusters, self.view)
        for reason in result.unmodelled:
            self.unmodelled(found.tag, reason, holder, _template_prefixes(doc))
        if result.unmodelled:
            self.b.graph.nodes[holder]["expanded"] = False
        for path in sorted(result.inputs):
            self.b.expansion_inputs.setdefault(path, set()).add(file)
        return result

    def _deliver(
        self,
        holder_cluster: str,
        node: str,
        found: objects.AppSetDoc,
        result: appset.Expansion,
        first: bool,
    ) -> None:
        """Applications to their clusters: those naming a cluster once (the first time the
        set is met), those deployed where the set is held for each holding cluster."""
        file = self.b.graph.nodes[node]["node"].path
        for app in result.apps:
            if app.targets is None:
                targets: tuple[str, ...] = (holder_cluster,)
            elif first:
                targets = app.targets
            else:
                continue
            fingerprint = f"{found.tag}:{app.fingerprint()}"
            tag = f"{found.tag} ({file}) -> Application {app.name}".strip()
            scanned = scanner.argo_sources(tag, app.spec)
            for item in scanned.unmodelled:
                self.unmodelled(item.tag, item.reason, node, item.paths)
            follows = scanned.follows
            for target in targets:
                if target not in self.by_name:
                    continue
                origin = self.cluster_node(target)
                self.link_root(target)
                for follow in follows:
                    path = snapshot.normalize(follow.path)
                    exists = not snapshot.escapes(path) and self.b.snap.exists(path)
                    if not exists and self.b.resolver.is_local(follow.source, False) is not False:
                        continue  # generated for a folder that does not exist: nothing to sync
                    self.b._follow(origin, follow, final=True)
                self.record(file, target, fingerprint)
        # The set itself is an object of every cluster whose Argo CD syncs the folder
        # holding it: a change to its fields (not to its comments) reaches that cluster.
        self.record(file, holder_cluster, f"set:{found.text}")


def bundle_roots(snap: Any, roots: Iterable[str]) -> set[str]:
    """Cluster paths (existing folders) at or above a `fleet.yaml`: Fleet bundle paths."""
    folders = {
        snapshot.parent(p) for p in snap.files() if p.rsplit("/", 1)[-1] in fleetbundle.FLEET_FILES
    }
    found: set[str] = set()
    if not folders:
        return found  # no bundle anywhere: no root to look at
    for root in roots:
        path = snapshot.normalize(root)
        if snap.is_dir(path) and any(path in (f, ".") or f.startswith(path + "/") for f in folders):
            found.add(path)
    return found


def expand_clusters(builder: _Builder, clusters: Sequence[ClusterInfo]) -> None:
    """Give each cluster reaching an ApplicationSet or a Fleet bundle its own root node."""
    if not clusters:
        return
    ex = _Expander(builder, clusters)
    ex.fleet()
    builder.run()
    if builder.appsets:
        _mark_appset_files(builder)
        ex.appsets()
    builder.cluster_roots.update(ex.cluster_roots)
    for file, by_cluster in ex.prints.items():
        builder.expanded[file] = {name: _digest(fps) for name, fps in sorted(by_cluster.items())}


def _digest(fingerprints: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(set(fingerprints))).encode()).hexdigest()[:20]


NOTHING = _digest(())  # what a cluster gets from a file that generates nothing for it


def _template_prefixes(doc: Any) -> list[str]:
    """Folders an ApplicationSet's template paths are known to lie in (`apps/{{name}}`:
    `apps`); none when a path is templated from its start."""
    template = doc.get("spec", {}).get("template", {}) if isinstance(doc, Mapping) else {}
    spec = template.get("spec") if isinstance(template, Mapping) else None
    if not isinstance(spec, Mapping):
        return []
    sources = [s for s in spec.get("sources") or [] if isinstance(s, Mapping)]
    if isinstance(spec.get("source"), Mapping):
        sources.append(spec["source"])
    found = []
    for src in sources:
        path = src.get("path")
        if isinstance(path, str) and path.strip():
            prefix = objects.literal_prefix(path) if objects.is_templated(path) else path.strip()
            if prefix != ".":
                found.append(snapshot.normalize(prefix))
    return found


def _mark_appset_files(builder: _Builder) -> None:
    """A file holding only ApplicationSets is not content: its meaning is per cluster."""
    for node_id in builder.appsets:
        attrs = builder.graph.nodes[node_id]
        node = attrs["node"]
        parsed = builder._parse(node.path)
        docs = [d for d in parsed.docs if d is not None]
        if parsed.error is None and docs and all(_only_appsets(d) for d in docs):
            attrs.setdefault("expanded", True)


def _only_appsets(doc: Any) -> bool:
    if isinstance(doc, Mapping) and doc.get("kind") == "List":
        items = doc.get("items")
        return isinstance(items, list) and all(_only_appsets(i) for i in items)
    return (
        isinstance(doc, Mapping)
        and doc.get("kind") == "ApplicationSet"
        and str(doc.get("apiVersion", "")).startswith(objects.ARGO_API)
    )


# -------------------------------------------------------------------------------- impact


def expanded_by(head: Hierarchy, base: Hierarchy, path: str) -> list[str]:
    """The expanded files (ApplicationSet files, `fleet.yaml`) whose meaning `path` decides:
    itself, or the sets whose git `files` generator reads it (at base or head)."""
    found = set(head.expansion_inputs.get(path, ())) | set(base.expansion_inputs.get(path, ()))
    if path in head.expanded or path in base.expanded:
        found.add(path)
    return sorted(found)


def changed_clusters(
    head: Hierarchy, base: Hierarchy, key: str
) -> dict[str, Literal["base", "head", "base+head"]]:
    """Clusters whose expansion of `key` differs between base and head, with the revision
    that holds it (`head`, `base` or `base+head`). Empty when `key` is expanded nowhere."""
    new, old = head.expanded.get(key, {}), base.expanded.get(key, {})
    found: dict[str, Literal["base", "head", "base+head"]] = {}
    for name in sorted(set(new) | set(old)):
        if new.get(name, NOTHING) != old.get(name, NOTHING):
            found[name] = (
                "base+head" if name in new and name in old else ("head" if name in new else "base")
            )
    return found


def is_expanded(head: Hierarchy, base: Hierarchy, path: str) -> bool:
    return bool(expanded_by(head, base, path))


def cluster_infos(clusters: Iterable[Any]) -> list[ClusterInfo]:
    """`ClusterInfo`s of inventory clusters (anything with name, labels, server, gitops_path)."""
    return sorted(
        (ClusterInfo(c.name, dict(c.labels), c.server or "", c.gitops_path) for c in clusters),
        key=lambda c: c.name,
    )
