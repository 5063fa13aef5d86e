"""What a cluster reads, sorted out once for every check of it (`Reach`), each layer that
several clusters share walked only once (`Reaches`). Pure."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import Scope

_NONE: frozenset[str] = frozenset()


class Reach:
    """What one root reads (its closure), sorted for the checks: the layer folders by scope,
    and the nodes of each region layer."""

    __slots__ = ("_graph", "_nodes", "layers", "regions", "root")

    def __init__(
        self,
        graph: Hierarchy,
        root: str,
        layers: dict[Scope, set[str]],
        regions: dict[str, set[str]],
    ) -> None:
        self._graph = graph
        self._nodes: frozenset[str] | None = None
        self.root = root
        self.layers = layers
        self.regions = regions

    @property
    def nodes(self) -> frozenset[str]:
        """Every node the root reads, itself included (walked on first use only)."""
        if self._nodes is None:
            self._nodes = self._graph.closure(self.root)
        return self._nodes

    def layers_of(self, scope: Scope) -> AbstractSet[str]:
        return self.layers.get(scope, _NONE)


class Reaches:
    """The `Reach` of any node: a walk from it down to the layers other nodes read too,
    whose own reach is sorted out once and merged."""

    def __init__(self, graph: Hierarchy) -> None:
        self.graph = graph
        self._shared: dict[str, Reach] = {}

    def of(self, node_id: str) -> Reach:
        found = self._shared.get(node_id)
        if found is not None:
            return found
        graph = self.graph.graph
        if graph.in_degree(node_id) > 1:  # read by several: the whole closure, once
            found = self._shared[node_id] = self._sort_out(node_id, self.graph.closure(node_id))
            return found
        own, met = {node_id}, set()
        stack = [node_id]
        layers: dict[Scope, set[str]] = {}
        regions: dict[str, set[str]] = {}
        succ = graph.succ
        while stack:
            for down in succ[stack.pop()]:
                if down in own or down in met:
                    continue
                if graph.in_degree(down) > 1:
                    met.add(down)
                    part = self.of(down)
                    for scope, names in part.layers.items():
                        layers.setdefault(scope, set()).update(names)
                    for layer, ids in part.regions.items():
                        regions.setdefault(layer, set()).update(ids)
                    continue
                own.add(down)
                stack.append(down)
        return self._sort_out(node_id, own, layers, regions)

    def _sort_out(
        self,
        root: str,
        nodes: set[str] | frozenset[str],
        layers: dict[Scope, set[str]] | None = None,
        regions: dict[str, set[str]] | None = None,
    ) -> Reach:
        layers = {} if layers is None else layers
        regions = {} if regions is None else regions
        node = self.graph.node
        for node_id in nodes:
            found = node(node_id)
            layer = found.layer
            if layer:
                layers.setdefault(found.scope, set()).add(layer)
                if found.scope == Scope.REGION:
                    regions.setdefault(layer, set()).add(node_id)
        return Reach(self.graph, root, layers, regions)
