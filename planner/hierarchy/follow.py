"""Following Flux and Argo CD objects: the folders they pull in, or why they cannot be.

A `Kustomization`, `Application` or `HelmRelease` met while building names a path in a
source. The source decides what the path means: this repository at the planned revision
(followed: the folder joins the graph), another repository or revision (an external node),
an `ExternalArtifact` (the folders its `ArtifactGenerator` copies), or unknown (a wiring note).
"""

from __future__ import annotations

import dataclasses

from planner import kustomize, snapshot
from planner.hierarchy.graph import Node, NodeKind
from planner.hierarchy.nodes import NodeMaker
from planner.hierarchy.scopes import Scope
from planner.wiring import artifacts, sources
from planner.wiring.notes import Unmodelled, WiringNote, other_revision
from planner.wiring.objects import ARGO, CHART, FLUX, Follow, Scan, SourceRef


class Follower(NodeMaker):
    """The builder's follow step (see `planner.hierarchy.build`)."""

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
        """Record a wiring note (planner.wiring) on the node of the file declaring it."""
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
