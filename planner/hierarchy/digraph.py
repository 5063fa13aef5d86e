"""The storage of a reference graph: a directed graph with attributes on nodes and edges.

The part of networkx's `DiGraph` interface the planner uses (`nodes`, `edges`, `succ`, `pred`,
`add_node`, `add_edge`, `has_edge`, `in_degree`, `successors`), with the same iteration
orders: nodes in the order they were added, successors and predecessors in the order of
their edges. Plain dictionaries underneath, so that a plan does not import networkx (a
third of a second of start-up) and each lookup is one dictionary access. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

Attrs = dict[str, Any]


class NodeView(Mapping[str, Attrs]):
    """`graph.nodes`: node id -> its attributes; `graph.nodes(data=...)` as in networkx."""

    __slots__ = ("_nodes",)

    def __init__(self, nodes: dict[str, Attrs]) -> None:
        self._nodes = nodes

    def __getitem__(self, node: str) -> Attrs:
        return self._nodes[node]

    def __iter__(self) -> Iterator[str]:
        return iter(self._nodes)

    def __len__(self) -> int:
        return len(self._nodes)

    def __contains__(self, node: object) -> bool:
        return node in self._nodes

    def get(self, node: str, default: Any = None) -> Any:
        return self._nodes.get(node, default)

    def __call__(self, data: bool | str = False) -> Iterator[Any]:
        if data is False:
            return iter(self._nodes)
        if data is True:
            return iter(self._nodes.items())
        return ((node, attrs.get(data)) for node, attrs in self._nodes.items())


class EdgeView:
    """`graph.edges`: `edges[u, v]` is the edge's attributes; `edges(data=...)` iterates
    `(u, v)` or `(u, v, value)` in the order of nodes, then of each node's edges."""

    __slots__ = ("_succ",)

    def __init__(self, succ: dict[str, dict[str, Attrs]]) -> None:
        self._succ = succ

    def __getitem__(self, edge: tuple[str, str]) -> Attrs:
        return self._succ[edge[0]][edge[1]]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return ((u, v) for u, targets in self._succ.items() for v in targets)

    def __call__(self, data: bool | str = False) -> Iterator[Any]:
        if data is False:
            return iter(self)
        if data is True:
            return ((u, v, d) for u, targets in self._succ.items() for v, d in targets.items())
        return (
            (u, v, d.get(data)) for u, targets in self._succ.items() for v, d in targets.items()
        )


class DiGraph:
    """A directed graph: nodes with attributes, at most one edge per ordered pair."""

    def __init__(self, edges: Iterable[tuple[str, str]] = ()) -> None:
        self._node: dict[str, Attrs] = {}
        self._succ: dict[str, dict[str, Attrs]] = {}
        self._pred: dict[str, dict[str, Attrs]] = {}
        self.nodes = NodeView(self._node)
        self.edges = EdgeView(self._succ)
        for source, target in edges:
            self.add_edge(source, target)

    @property
    def succ(self) -> Mapping[str, Mapping[str, Attrs]]:
        """Node -> its successors (and the attributes of the edge to each)."""
        return self._succ

    @property
    def pred(self) -> Mapping[str, Mapping[str, Attrs]]:
        """Node -> its predecessors (and the attributes of the edge from each)."""
        return self._pred

    def __contains__(self, node: object) -> bool:
        return node in self._node

    def __iter__(self) -> Iterator[str]:
        return iter(self._node)

    def __len__(self) -> int:
        return len(self._node)

    def number_of_nodes(self) -> int:
        return len(self._node)

    def add_node(self, node_id: str, /, **attrs: Any) -> None:
        """Add a node, or update the attributes of an existing one."""
        found = self._node.get(node_id)
        if found is None:
            found = self._node[node_id] = {}
            self._succ[node_id] = {}
            self._pred[node_id] = {}
        found.update(attrs)

    def add_edge(self, source: str, target: str, /, **attrs: Any) -> None:
        """Add an edge (and its nodes when new), or update the attributes of an existing one."""
        for node in (source, target):
            if node not in self._node:
                self._node[node] = {}
                self._succ[node] = {}
                self._pred[node] = {}
        data = self._succ[source].get(target)
        if data is None:
            data = {}
        data.update(attrs)
        self._succ[source][target] = data
        self._pred[target][source] = data

    def has_edge(self, source: str, target: str) -> bool:
        targets = self._succ.get(source)
        return targets is not None and target in targets

    def in_degree(self, node: str) -> int:
        return len(self._pred[node])

    def successors(self, node: str) -> Iterator[str]:
        return iter(self._succ[node])


def strongly_connected_components(graph: DiGraph) -> list[set[str]]:
    """The strongly connected components of `graph` (Tarjan's algorithm, iterative: a
    reference chain may be longer than Python's recursion limit), in no particular order."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[set[str]] = []
    succ = graph.succ
    for start in graph:
        if start in index:
            continue
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        work: list[tuple[str, Iterator[str]]] = [(start, iter(succ[start]))]
        while work:
            node, targets = work[-1]
            for target in targets:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(succ[target])))
                    break
                if target in on_stack:
                    low[node] = min(low[node], index[target])
            else:
                work.pop()
                if work:
                    parent = work[-1][0]
                    low[parent] = min(low[parent], low[node])
                if low[node] == index[node]:
                    component = set()
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.add(member)
                        if member == node:
                            break
                    found.append(component)
    return found
