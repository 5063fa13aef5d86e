"""What every family of checks looks at (`Context`), and how findings are listed. Pure."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from planner.findings import Finding
from planner.hierarchy.graph import Hierarchy
from planner.impact import ChangedLayer
from planner.inventory import Inventory
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
    _closures: dict[str, frozenset[str]] = field(default_factory=dict, init=False, repr=False)

    def closure(self, node_id: str) -> frozenset[str]:
        """`head.closure(node_id)`, computed once per node for every check of this context
        (each cluster's root is asked for by several families in turn)."""
        found = self._closures.get(node_id)
        if found is None:
            found = self._closures[node_id] = frozenset(self.head.closure(node_id))
        return found


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
