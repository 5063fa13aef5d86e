"""The hierarchy graph as Mermaid, Graphviz DOT or JSON (`wave-planner graph`)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from planner.errors import UserError

if TYPE_CHECKING:
    from planner.hierarchy.graph import Hierarchy
    from planner.inventory import Inventory


def _subgraph(
    graph: Hierarchy, inventory: Inventory, cluster: str | None
) -> tuple[list[str], dict[str, list[str]]]:
    """(node ids, {cluster: [root ids]}) restricted to one cluster when asked."""
    roots: dict[str, list[str]] = {}
    for c in inventory.clusters:
        if cluster is not None and c.name != cluster:
            continue
        root = graph.root_of(c.gitops_path, c.name)
        if root is not None:
            roots.setdefault(c.name, []).append(root)
    if cluster is not None and cluster not in inventory.by_name():
        raise UserError.single(f"no cluster named {cluster!r} in the inventory", key="--cluster")
    if cluster is None:
        nodes = sorted(n.id for n in graph.nodes())
    else:
        found: set[str] = set()
        for ids in roots.values():
            for root in ids:
                found |= graph.closure(root)
        nodes = sorted(found)
    return nodes, roots


def _ident(index: int) -> str:
    return f"n{index}"


def _label(text: str) -> str:
    return re.sub(r'["<>{}|]', "_", text)


def render(graph: Hierarchy, inventory: Inventory, cluster: str | None, fmt: str) -> str:
    nodes, roots = _subgraph(graph, inventory, cluster)
    index = {node_id: i for i, node_id in enumerate(nodes)}
    edges = sorted((s, t) for s, t in graph.graph.edges() if s in index and t in index)
    if fmt == "json":
        data = {
            "revision": graph.revision,
            "clusters": {name: ids[0] for name, ids in sorted(roots.items())},
            "nodes": [
                {
                    "id": n,
                    "kind": graph.node(n).kind.value,
                    "scope": graph.node(n).scope.value,
                    "layer": graph.node(n).layer,
                    "display": graph.node(n).display,
                }
                for n in nodes
            ],
            "edges": [
                {"from": s, "to": t, "field": graph.edge(s, t).field, "ref": graph.edge(s, t).ref}
                for s, t in edges
            ],
        }
        return json.dumps(data, indent=2) + "\n"
    cluster_ids = {name: f"c{i}" for i, name in enumerate(sorted(roots))}
    if fmt == "dot":
        out = ["digraph hierarchy {", "  rankdir=LR;", "  node [shape=box, fontsize=10];"]
        for name, ident in cluster_ids.items():
            out.append(f'  {ident} [label="{_label(name)}", shape=ellipse];')
        for n in nodes:
            node = graph.node(n)
            out.append(
                f'  {_ident(index[n])} [label="{_label(node.display)}\\n({node.scope.value})"];'
            )
        for name, ids in sorted(roots.items()):
            out += [f"  {cluster_ids[name]} -> {_ident(index[r])};" for r in ids]
        for s, t in edges:
            out.append(
                f"  {_ident(index[s])} -> {_ident(index[t])} "
                f'[label="{_label(graph.edge(s, t).field)}"];'
            )
        return "\n".join([*out, "}"]) + "\n"
    out = ["flowchart LR"]
    for name, ident in cluster_ids.items():
        out.append(f'  {ident}(["{_label(name)}"])')
    for n in nodes:
        node = graph.node(n)
        out.append(f'  {_ident(index[n])}["{_label(node.display)}<br/>{node.scope.value}"]')
    for name, ids in sorted(roots.items()):
        out += [f"  {cluster_ids[name]} --> {_ident(index[r])}" for r in ids]
    for s, t in edges:
        out.append(f"  {_ident(index[s])} -->|{_label(graph.edge(s, t).field)}| {_ident(index[t])}")
    return "\n".join(out) + "\n"
