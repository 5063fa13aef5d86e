"""Reference chains as a plan prints them: from a cluster's root down to a changed file.

`ChainLink` is one printed link (the node's path, kind and scope, and the field and text of
the reference that reached it); `Chains` builds the chains of one graph down to a set of
targets, chains through one node sharing its tail and equal links being one object (a
fleet-wide change has one chain per cluster). Pure.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from planner.hierarchy.graph import Edge, Hierarchy, Link
from planner.hierarchy.scopes import Scope
from planner.trusted import trusted


class ChainLink(BaseModel):
    """One node of a reference chain and how the previous node referenced it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    kind: str
    scope: Scope
    field: str | None = None
    ref: str | None = None


class Chains:
    """The reference chains of one graph down to targets (`Hierarchy.chain`, link for link):
    chains through one node share its tail, equal links (node, field, ref) are one object."""

    def __init__(self, graph: Hierarchy, targets: set[str]) -> None:
        self.graph = graph
        self.hops = graph.next_hops(targets) if targets else {}
        self._tails: dict[str, tuple[ChainLink, ...]] = {}
        self._chains: dict[str, tuple[ChainLink, ...]] = {}
        self._links: dict[tuple[str, Edge], ChainLink] = {}

    def chain(self, start: str) -> tuple[ChainLink, ...]:
        found = self._chains.get(start)
        if found is None:
            head = chain_link(Link(self.graph.node(start), None))
            found = self._chains[start] = (head, *self._tail(start))
        return found

    def _tail(self, start: str) -> tuple[ChainLink, ...]:
        """The links after `start` (iterative: a chain may be long)."""
        path: list[tuple[str, str]] = []  # (node, the next node towards the targets)
        current = start
        while current not in self._tails:
            following = self.hops.get(current)
            if following is None:
                self._tails[current] = ()
                break
            path.append((current, following))
            current = following
        tail = self._tails[current]
        for node_id, following in reversed(path):
            edge = self.graph.edge(node_id, following)
            link = self._links.get((following, edge))
            if link is None:
                link = self._links[following, edge] = chain_link(
                    Link(self.graph.node(following), edge)
                )
            tail = (link, *tail)
            self._tails[node_id] = tail
        return self._tails[start]


def chain_link(link: Link) -> ChainLink:
    """One link of a hierarchy chain as a plan prints it."""
    return trusted(
        ChainLink,
        path=link.node.display,
        kind=link.node.kind.value,
        scope=link.node.scope,
        field=link.edge.field if link.edge else None,
        ref=link.edge.ref if link.edge else None,
    )
