"""`Reaches`: one walk per root, shared layers sorted out once, equals the closure's view."""

from __future__ import annotations

from planner.guardrails.context import Context
from planner.guardrails.reach import Reaches
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import Scope
from planner.inventory import Inventory
from planner.policy import default_policy
from planner.snapshot import MemorySnapshot

K = "kustomization.yaml"
FILES = {
    f"base/{K}": "resources: [ns.yaml]\n",
    "base/ns.yaml": "kind: Namespace\n",
    f"environments/prod/{K}": "resources: [../../base]\n",
    f"environments/dev/{K}": "resources: [../../base]\n",
    f"regions/eu/{K}": "resources: [../../environments/prod, ../../environments/dev]\n",
    f"clusters/a/{K}": "resources: [../../regions/eu, cm.yaml, ../b]\n",
    "clusters/a/cm.yaml": "kind: ConfigMap\n",
    f"clusters/b/{K}": "resources: [../../regions/eu, ../c]\n",
    f"clusters/c/{K}": "resources: [../b]\n",  # a cycle through two cluster folders
    f"clusters/d/{K}": "resources: [../../environments/dev]\n",
}


def _expected(graph: Hierarchy, root: str) -> tuple[dict[Scope, set[str]], dict[str, set[str]]]:
    layers: dict[Scope, set[str]] = {}
    regions: dict[str, set[str]] = {}
    for node_id in graph.closure(root):
        node = graph.node(node_id)
        if node.layer:
            layers.setdefault(node.scope, set()).add(node.layer)
            if node.scope == Scope.REGION:
                regions.setdefault(node.layer, set()).add(node_id)
    return layers, regions


def test_each_root_reads_what_its_closure_holds() -> None:
    snap = MemorySnapshot({p: t.encode() for p, t in FILES.items()}, "rev")
    roots = ["clusters/a", "clusters/b", "clusters/c", "clusters/d"]
    graph = build_hierarchy(snap, roots)
    reaches = Reaches(graph)
    ids = [graph.root_of(path) for path in roots]
    for root in [*ids, "regions/eu/", "base/"]:  # clusters, then shared layers already met
        assert root is not None and root in graph
        reach = reaches.of(root)
        layers, regions = _expected(graph, root)
        assert {s: set(v) for s, v in reach.layers.items()} == layers
        assert {k: set(v) for k, v in reach.regions.items()} == regions
        assert reach.nodes == graph.closure(root)
        assert reach.layers_of(Scope.CLUSTER) == layers.get(Scope.CLUSTER, set())


def test_environments_of_region_nodes_as_their_closures_hold_them() -> None:
    files = {
        **FILES,
        f"regions/us/{K}": "resources: [../../environments/prod]\n",
        f"clusters/e/{K}": "resources: [../../regions/us]\n",
        f"clusters/f/{K}": "resources: [../../regions/us, ../../regions/eu]\n",
    }
    snap = MemorySnapshot({p: t.encode() for p, t in files.items()}, "rev")
    graph = build_hierarchy(snap, ["clusters/a", "clusters/e", "clusters/f"])
    ctx = Context(graph, snap, Inventory(clusters=()), default_policy(None), placements={})
    for nodes in [{"regions/eu/"}, {"regions/us/"}, {"regions/us/", "regions/eu/"}] * 2:
        expected = {
            str(graph.node(n).layer)
            for region in nodes
            for n in graph.closure(region)
            if graph.node(n).scope == Scope.ENVIRONMENT
        }
        assert ctx.environments_of(nodes) == sorted(expected)
    assert ctx.environments_of({"regions/us/"}) == ["environments/prod"]
