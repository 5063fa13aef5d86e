"""Edge reuse: when a change leaves every edge as it was, the base graph is the head graph."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from planner import kustomize
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.parsing import ParseCache, parse_yaml
from planner.snapshot import Snapshot
from planner.wiring.scanner import scan_documents


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
        parsed = parse_yaml(data)
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
