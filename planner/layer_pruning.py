"""Layer pruning: a layer whose own render did not change spares every cluster above it.

A reformatted kustomization, a comment, a reordered list: the files of a layer changed, so
tracing reaches every cluster that includes the layer, but what the layer produces did not
change. Kustomize builds a `resources:` directory on its own and includes its output, and a
Flux `Kustomization` or Argo CD `Application` renders its folder on its own too; so when the
layer renders to the same objects at base and at head, no cluster that reaches the changed
files only through such references can render differently.

This module owns those decisions, and is pure:

- `candidate_layers`: the kustomization folders that directly read a changed file (the
  kustomization itself, or a file it references), other than cluster roots, and only the
  outermost of those that include one another; none when there are as many as clusters
  to spare (proving them would cost as much as rendering);
- `proven`: those whose render is the same object for object at both revisions;
- `unchanged_by_layers`: a cluster whose reference graph, walked without entering a proven
  layer through `resources`/`bases` or a follow edge, reads no changed file.

Pruning needs the same reference graph at both revisions (a content-only change); otherwise
nothing is pruned and every traced cluster is rendered.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from planner import precise
from planner.analysis import Analysis
from planner.hierarchy.graph import Hierarchy, NodeKind
from planner.plan import PlanInputs
from planner.precise import Renderer
from planner.wiring.objects import ARGO, FLUX

OPAQUE_FIELDS = ("resources", "bases")
OPAQUE_FOLLOWS = (FLUX, ARGO)


def touched_nodes(graph: Hierarchy, changed: Iterable[str]) -> set[str]:
    """Every node whose content includes a changed path."""
    found: set[str] = set()
    for path in changed:
        found |= graph.owners(path)
    return found


def candidate_layers(graph: Hierarchy, touched: set[str]) -> list[str]:
    """Kustomization folders that directly read a changed file (cluster roots excluded)."""
    roots = set(graph.roots.values())
    found: set[str] = set()
    for node_id in touched:
        if node_id not in graph:
            continue
        kind = graph.node(node_id).kind
        if kind == NodeKind.KUSTOMIZATION:
            found.add(node_id)
        elif kind == NodeKind.FILE:
            for up in graph.graph.pred[node_id]:
                if (
                    graph.node(up).kind == NodeKind.KUSTOMIZATION
                    and graph.follow_mode(up, node_id) is None
                ):
                    found.add(up)
    found = {n for n in found - roots if _opaque_somewhere(graph, n)}
    return sorted(found - _inside_others(graph, found))


def _opaque_somewhere(graph: Hierarchy, layer: str) -> bool:
    """The layer is built on its own by someone (not only a Component applied in place)."""
    doc = graph.kustomization(layer)
    if doc is not None and doc.get("kind") == "Component":
        return False
    return any(_opaque_edge(graph, up, layer) for up in graph.graph.pred[layer])


def _inside_others(graph: Hierarchy, layers: set[str]) -> set[str]:
    """Layers that another layer reads through kustomize references: proving the outer one
    covers them (a reformatted base below a reformatted region needs one render, not two)."""
    inner: set[str] = set()
    for layer in layers:
        stack = [layer]
        seen = {layer}
        while stack:
            current = stack.pop()
            for target in graph.graph.successors(current):
                if target in seen or graph.follow_mode(current, target) is not None:
                    continue
                seen.add(target)
                if target in layers:
                    inner.add(target)
                stack.append(target)
    return inner


def _opaque_edge(graph: Hierarchy, source: str, target: str) -> bool:
    mode = graph.follow_mode(source, target)
    if mode is not None:
        return mode in OPAQUE_FOLLOWS
    return graph.edge(source, target).field in OPAQUE_FIELDS


def unchanged_by_layers(
    graph: Hierarchy, root: str | None, touched: set[str], proven: set[str]
) -> bool:
    """True when the cluster at `root` reads no changed file outside the proven layers."""
    if root is None or root in touched or not proven:
        return False
    seen = {root}  # entered (its own content walked)
    skipped: set[str] = set()  # proven layers reached through an opaque edge
    stack = [(root, t) for t in graph.graph.successors(root)]
    while stack:
        current, target = stack.pop()
        if target in seen:
            continue
        if current and target in proven and _opaque_edge(graph, current, target):
            if target not in skipped:
                skipped.add(target)
                stack.extend(("", t) for t in _follows_inside(graph, target))
            continue
        seen.add(target)  # entered, even when also skipped elsewhere: content counts
        if target in touched:
            return False
        stack.extend((target, t) for t in graph.graph.successors(target))
    return True


def _follows_inside(graph: Hierarchy, layer: str) -> list[str]:
    """Follow-edge targets read from inside a proven layer: separate units, still walked."""
    inside = {layer}
    queue = [layer]
    out: list[str] = []
    while queue:
        current = queue.pop()
        for target in graph.graph.successors(current):
            if graph.follow_mode(current, target) is not None:
                out.append(target)
            elif target not in inside:
                inside.add(target)
                queue.append(target)
    return out


def pruned_clusters(
    graph: Hierarchy,
    roots: Mapping[str, str | None],
    touched: set[str],
    proven: set[str],
    names: Sequence[str],
) -> list[str]:
    """The clusters (of `names`) that the proven layers spare from rendering."""
    return [n for n in names if unchanged_by_layers(graph, roots.get(n), touched, proven)]


# ------------------------------------------------------------------- the whole decision


@dataclass(frozen=True)
class Pruning:
    """Which traced clusters the proven layers spare, and what proving them cost."""

    spared: frozenset[str] = frozenset()
    layers: tuple[str, ...] = ()  # the proven layers (folders)
    rendered_units: int = 0


def prune(inputs: PlanInputs, analysis: Analysis, renderer: Renderer) -> Pruning:
    """Render each candidate layer at both revisions; spare the clusters above the proven."""
    graph = analysis.head
    if analysis.base is not graph:
        return Pruning()  # the change moves references: render everything traced
    names = precise.candidates(analysis)
    touched = touched_nodes(graph, inputs.changes.content_paths())
    layers = candidate_layers(graph, touched)
    if not names or not layers or len(layers) >= len(names):
        return Pruning()  # nothing to spare, or proving would cost as much as rendering
    head_units = precise.UnitBuilder(graph, inputs.head)
    base_units = precise.UnitBuilder(graph, inputs.base)
    pairs: dict[str, tuple[precise.Unit, precise.Unit]] = {}
    jobs: dict[str, precise.RenderJob] = {}
    for layer in layers:
        base, head = base_units.layer(layer), head_units.layer(layer)
        if base is None or head is None or not (base.needs_renderer and head.needs_renderer):
            continue
        pairs[layer] = (base, head)
        jobs.setdefault(base.key, precise.RenderJob(base, inputs.base))
        jobs.setdefault(head.key, precise.RenderJob(head, inputs.head))
    if not jobs:
        return Pruning()
    outputs = renderer.render(list(jobs.values()))
    proven = set()
    for layer, (base, head) in pairs.items():
        before = precise.cluster_state([base], outputs, inputs.base)
        after = precise.cluster_state([head], outputs, inputs.head)
        if before.status == after.status == "ok" and before.objects == after.objects:
            proven.add(layer)
    if not proven:
        return Pruning(rendered_units=len(jobs))
    paths = {c.name: c.gitops_path for c in inputs.inventory.clusters}
    roots = {n: graph.root_of(paths[n]) for n in names if n in paths}
    spared = pruned_clusters(graph, roots, touched, proven, names)
    return Pruning(
        spared=frozenset(spared),
        layers=tuple(sorted(graph.node(n).path for n in proven)),
        rendered_units=len(jobs),
    )
