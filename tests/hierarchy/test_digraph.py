"""The graph storage: networkx's iteration orders and attribute semantics, and strongly
connected components equal to mutual reachability."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.hierarchy.digraph import DiGraph, strongly_connected_components
from tests.testing.examples import examples


def test_nodes_in_the_order_they_were_added_with_their_attributes() -> None:
    g = DiGraph()
    g.add_node("b", kind="file")
    g.add_edge("a", "c", edge="x")
    g.add_node("b", doc={"k": 1})  # an existing node: attributes updated, order kept
    assert list(g.nodes) == ["b", "a", "c"]
    assert list(g.nodes()) == ["b", "a", "c"]
    assert g.nodes["b"] == {"kind": "file", "doc": {"k": 1}}
    assert list(g.nodes(data="kind")) == [("b", "file"), ("a", None), ("c", None)]
    assert next(iter(g.nodes(data=True))) == ("b", {"kind": "file", "doc": {"k": 1}})
    assert g.nodes.get("missing") is None
    assert "a" in g and "missing" not in g and "a" in g.nodes
    assert len(g) == g.number_of_nodes() == len(g.nodes) == 3


def test_edges_in_node_then_edge_order_one_attribute_dict_per_edge() -> None:
    g = DiGraph()
    g.add_edge("a", "c", edge="1")
    g.add_edge("b", "a", edge="2")
    g.add_edge("a", "b", edge="3")
    g.add_edge("a", "c", follow="flux")  # the same edge: attributes merged
    assert list(g.edges()) == [("a", "c"), ("a", "b"), ("b", "a")]
    assert list(g.edges) == list(g.edges())
    assert list(g.edges(data="follow")) == [("a", "c", "flux"), ("a", "b", None), ("b", "a", None)]
    assert g.edges["a", "c"] == {"edge": "1", "follow": "flux"}
    g.edges["a", "b"]["follow"] = "argo"  # successors and predecessors share the dict
    assert g.pred["b"]["a"] == {"edge": "3", "follow": "argo"}
    assert list(g.succ["a"]) == ["c", "b"] == list(g.successors("a"))
    assert list(g.pred["a"]) == ["b"]
    assert g.has_edge("a", "b") and not g.has_edge("c", "a") and not g.has_edge("z", "a")
    assert (g.in_degree("a"), g.in_degree("b"), g.in_degree("c")) == (1, 1, 1)


def _reaches(edges: list[tuple[int, int]], start: int) -> set[int]:
    seen, todo = {start}, [start]
    while todo:
        node = todo.pop()
        for u, v in edges:
            if u == node and v not in seen:
                seen.add(v)
                todo.append(v)
    return seen


@settings(max_examples=examples(200))
@given(st.lists(st.tuples(st.integers(0, 12), st.integers(0, 12)), max_size=40))
def test_strongly_connected_components_are_mutual_reachability(
    edges: list[tuple[int, int]],
) -> None:
    g = DiGraph([(str(u), str(v)) for u, v in edges])
    found = strongly_connected_components(g)
    nodes = {n for edge in edges for n in edge}
    reach = {n: _reaches(edges, n) for n in nodes}
    expected = {frozenset(str(m) for m in nodes if m in reach[n] and n in reach[m]) for n in nodes}
    assert sorted(map(sorted, found)) == sorted(map(sorted, expected))
    assert sum(len(c) for c in found) == len(nodes)  # a partition: every node once


def test_components_of_a_long_chain_need_no_recursion() -> None:
    size = 20_000  # deeper than Python's recursion limit
    g = DiGraph([(str(i), str(i + 1)) for i in range(size)] + [(str(size), "0")])
    (component,) = strongly_connected_components(g)
    assert len(component) == size + 1
