"""Drift (what changed since a rollout started, in words) and conflicts (other active
rollouts touching the same clusters)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.release.model import Rollout, is_active

if TYPE_CHECKING:
    from planner.plan import Plan


@dataclass(frozen=True)
class Observed:
    """The repository now: digests, the inventory's clusters, and the plan recomputed."""

    policy_digest: str
    inventory_digest: str
    clusters: frozenset[str]
    steps: Sequence[tuple[str, tuple[str, ...]]]  # (step name, clusters), plan order
    membership: Sequence[tuple[str, tuple[str, ...]]]  # (wave, clusters)
    violations: Sequence[str] = ()


def observe(plan: Plan, clusters: Iterable[str]) -> Observed:
    """What a freshly computed plan says about the repository."""
    return Observed(
        policy_digest=plan.policy.digest,
        inventory_digest=plan.inventory.digest,
        clusters=frozenset(clusters),
        steps=[(s.name, s.clusters) for s in plan.waves],
        membership=[(m.wave, m.clusters) for m in plan.membership],
        violations=[v.message for v in plan.violations],
    )


def drift(rollout: Rollout, now: Observed) -> list[str]:
    """What changed since `start`, in words; empty when the plan still matches."""
    changes: list[str] = []
    if now.inventory_digest != rollout.inventory_digest:
        changes.append(
            f"the inventory changed (digest {rollout.inventory_digest[:12]} -> "
            f"{now.inventory_digest[:12]})"
        )
    members = set(rollout.members())
    for name in sorted(members - now.clusters):
        where = "an affected cluster" if name in rollout.affected() else "a member cluster"
        changes.append(f"cluster {name} ({where}) was removed from the inventory")
    for name in sorted(now.clusters - members):
        changes.append(f"cluster {name} was added to the inventory")
    if now.policy_digest != rollout.policy_digest:
        changes.append(
            f"the policy changed (digest {rollout.policy_digest[:12]} -> {now.policy_digest[:12]})"
        )
    changes.extend(_wave_moves(rollout, now))
    changes.extend(_step_changes(rollout, now))
    changes.extend(f"the plan now has a violation: {v}" for v in now.violations)
    return changes


def _wave_moves(rollout: Rollout, now: Observed) -> list[str]:
    if [(m.wave, m.clusters) for m in rollout.membership] == list(now.membership):
        return []  # the same waves of the same clusters (the usual case, checked fast)
    before = {c: m.wave for m in rollout.membership for c in m.clusters}
    after = {c: wave for wave, clusters in now.membership for c in clusters}
    return [
        f"cluster {c} moved from wave {before[c]} to wave {after[c]}"
        for c in sorted(set(before) & set(after))
        if before[c] != after[c]
    ]


def _step_changes(rollout: Rollout, now: Observed) -> list[str]:
    before = {s.name: s.clusters for s in rollout.steps}
    after = dict(now.steps)
    out: list[str] = []
    for name, clusters in before.items():
        if name not in after:
            out.append(f"step {name} is no longer in the plan")
        elif tuple(sorted(after[name])) != tuple(sorted(clusters)):
            added = sorted(set(after[name]) - set(clusters))
            gone = sorted(set(clusters) - set(after[name]))
            parts = ([f"+{', +'.join(added)}"] if added else []) + (
                [f"-{', -'.join(gone)}"] if gone else []
            )
            out.append(f"step {name} now holds different clusters ({'; '.join(parts)})")
    out.extend(f"the plan has a new step {name}" for name in after if name not in before)
    if not out and [n for n, _ in now.steps] != list(before):
        out.append("the steps are in a different order")
    return out


@dataclass(frozen=True)
class Conflict:
    """Another active rollout touching some of the same clusters."""

    rollout: str
    clusters: tuple[str, ...]

    def message(self) -> str:
        shown = ", ".join(self.clusters[:10])
        more = f" (+{len(self.clusters) - 10} more)" if len(self.clusters) > 10 else ""
        return f"rollout {self.rollout} is still active on {shown}{more}"


def conflicts(clusters: Iterable[str], others: Iterable[Rollout]) -> list[Conflict]:
    """Active rollouts whose affected clusters overlap `clusters` (sorted by name)."""
    wanted = set(clusters)
    found = []
    for other in sorted(others, key=lambda r: r.name):
        if not is_active(other):
            continue
        shared = sorted(wanted & other.affected())
        if shared:
            found.append(Conflict(other.name, tuple(shared)))
    return found
