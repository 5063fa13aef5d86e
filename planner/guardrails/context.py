"""What every family of checks looks at (`Context`), and how findings are listed. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field

from planner.findings import Finding
from planner.guardrails.reach import Reach, Reaches
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import Scope
from planner.impact import ChangedLayer
from planner.inventory import Cluster, Inventory
from planner.placement import Placement, Step
from planner.policy import RolloutPolicy
from planner.snapshot import Snapshot

MAX_NAMED = 20


@dataclass
class Context:
    """What the checks look at: the head hierarchy and snapshot, inventory, policy, plan."""

    head: Hierarchy
    snapshot: Snapshot
    inventory: Inventory
    policy: RolloutPolicy
    placements: Mapping[str, Placement]
    steps: Sequence[Step] = ()
    layers: Sequence[ChangedLayer] = ()
    reasons_layers: Mapping[str, set[str]] = field(default_factory=dict)
    _roots: dict[str, str | None] = field(default_factory=dict, init=False, repr=False)
    _reach: tuple[str, Reach | None] | None = field(default=None, init=False, repr=False)
    _reaches: Reaches | None = field(default=None, init=False, repr=False)
    _environments: dict[frozenset[str], list[str]] = field(
        default_factory=dict, init=False, repr=False
    )

    def root(self, cluster: Cluster) -> str | None:
        """The cluster's root in the head graph (looked up once per cluster)."""
        roots = self._roots
        if cluster.name in roots:  # no KeyError raised for each cluster's first look-up
            return roots[cluster.name]
        found = roots[cluster.name] = self.head.root_of(cluster.gitops_path, cluster.name)
        return found

    def reach(self, cluster: Cluster) -> Reach | None:
        """What the cluster reads (None when it has no root), kept for the checks of this
        cluster that follow: one walk, however many checks read it."""
        if self._reach is not None and self._reach[0] == cluster.name:
            return self._reach[1]
        root = self.root(cluster)
        found = None if root is None else self.reach_of(root)
        self._reach = (cluster.name, found)
        return found

    def reach_of(self, node_id: str) -> Reach:
        """What a node reads (a layer several clusters read is sorted out once)."""
        if self._reaches is None:
            self._reaches = Reaches(self.head)
        return self._reaches.of(node_id)

    def environments_of(self, nodes: AbstractSet[str]) -> list[str]:
        """The environment layers these nodes read, sorted (once per set of nodes: the
        region layers clusters share)."""
        key = frozenset(nodes)
        found = self._environments.get(key)
        if found is None:
            found = self._environments[key] = sorted(
                set().union(*(self.reach_of(n).layers_of(Scope.ENVIRONMENT) for n in key))
            )
        return found

    def forget(self, cluster: Cluster) -> None:
        """Drop what was kept for the cluster once every check of it is done (a set per
        cluster otherwise stays until the end: the peak of a fleet-wide plan)."""
        if self._reach is not None and self._reach[0] == cluster.name:
            self._reach = None


def layers_in(graph: Hierarchy, node_ids: Iterable[str], scope: Scope) -> frozenset[str]:
    """The layer folders of `scope` among `node_ids`."""
    node = graph.node
    return frozenset(
        found.layer for found in map(node, node_ids) if found.scope == scope and found.layer
    )


def name_list(listed: Sequence[str]) -> str:
    """At most MAX_NAMED names, then how many more."""
    shown = ", ".join(listed[:MAX_NAMED])
    return shown + (f" and {len(listed) - MAX_NAMED} more" if len(listed) > MAX_NAMED else "")


def ordered(findings: Iterable[Finding]) -> list[Finding]:
    """Findings without repeats, violations first, then by code, cluster, file, message."""
    unique = {f.model_dump_json(): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (f.severity != "violation", f.code, f.cluster or "", f.file or "", f.message),
    )
