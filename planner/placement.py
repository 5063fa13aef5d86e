"""Placement: which wave each cluster belongs to, and how a wave is split into steps.

Membership is static and predictable: every inventory cluster belongs to the first wave
whose selector matches it, whether or not a change affects it (`place`). A plan's steps are
the affected clusters of each wave in policy order (`plan_steps`): a wave with
`max_clusters`, `max_percent` or `group_by` is split into steps `<wave>-1`, `<wave>-2`, ...,
a step never mixes groups nor exceeds its limits, and blast-radius constraints split steps
further. Every placement remembers the rule that made it, so outputs can say why a cluster
is in its wave. Pure.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from pydantic import BaseModel, ConfigDict

from planner.inventory import Cluster, Inventory, LabelRoles
from planner.policy import Constraint, RolloutPolicy, Wave
from planner.selector import LabelSelector

NO_GROUP = "(none)"
UNPLACED = "(none)"  # the wave of the clusters no wave selects
EMERGENCY = "emergency"


class Placement(BaseModel):
    """Which wave a cluster belongs to and the rule that put it there."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str
    wave: str | None
    rule: str
    also_matches: tuple[str, ...] = ()


class Step(BaseModel):
    """One step of a rollout: clusters released together, then gated."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    wave: str
    clusters: tuple[str, ...]
    bake: str | None = None
    approval: str = "none"
    group: str | None = None
    notes: tuple[str, ...] = ()


def place(inventory: Inventory, policy: RolloutPolicy) -> dict[str, Placement]:
    """The wave of every inventory cluster (first matching wave wins)."""
    placements: dict[str, Placement] = {}
    decided: dict[tuple[tuple[str, str], ...], tuple[str | None, str, tuple[str, ...]]] = {}
    for cluster in inventory.clusters:
        labels = tuple(sorted(cluster.labels.items()))
        found = decided.get(labels)
        if found is None:  # placement depends on the labels only: decide once per label set
            found = decided[labels] = _wave_of(cluster.labels, policy)
        wave, rule, also = found
        placements[cluster.name] = Placement.model_construct(
            cluster=cluster.name, wave=wave, rule=rule, also_matches=also
        )
    return placements


class PreviewRow(BaseModel):
    """One cluster a selector matches, and its wave."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str
    labels: dict[str, str]
    wave: str | None
    rule: str


def preview_rows(
    inventory: Inventory, policy: RolloutPolicy, selector: LabelSelector | None
) -> list[PreviewRow]:
    """The clusters `selector` matches (all when None), with the wave each belongs to."""
    placements = place(inventory, policy)
    return [
        PreviewRow(
            cluster=c.name,
            labels=dict(c.labels),
            wave=placements[c.name].wave,
            rule=placements[c.name].rule,
        )
        for c in inventory.clusters
        if selector is None or selector.matches(c.labels)
    ]


def _wave_of(
    labels: Mapping[str, str], policy: RolloutPolicy
) -> tuple[str | None, str, tuple[str, ...]]:
    matched: list[tuple[Wave, str]] = []
    for wave in policy.waves:
        selector = wave.match(labels)
        if selector is not None:
            matched.append((wave, selector.describe()))
    if not matched:
        return None, "no wave selector matches its labels", ()
    wave, described = matched[0]
    return (
        wave.name,
        f"wave {wave.name}: first wave whose selector matches ({described})",
        tuple(w.name for w, _ in matched[1:]),
    )


def group_value(cluster: Cluster, key: str, roles: LabelRoles) -> str:
    """A label's value by key, or by role name (`region`) when the key itself is absent."""
    if key in cluster.labels:
        return cluster.labels[key]
    if key in ("environment", "region", "compliance", "wave"):
        value = roles.value(cluster.labels, key)
        if value is not None:
            return value
    return NO_GROUP


def plan_steps(
    affected: Iterable[str],
    placements: Mapping[str, Placement],
    policy: RolloutPolicy,
    inventory: Inventory,
    *,
    emergency: str | None = None,
) -> tuple[list[Step], list[str]]:
    """Ordered steps holding the affected clusters, and the waves this change skips."""
    names = sorted(set(affected))
    if emergency is not None:
        if not names:
            return [], []
        note = f"emergency: {emergency}"
        return [Step(name=EMERGENCY, wave=EMERGENCY, clusters=tuple(names), notes=(note,))], []
    by_wave: dict[str, list[str]] = {}
    for name in names:
        placed = placements[name].wave
        if placed is not None:
            by_wave.setdefault(placed, []).append(name)
    clusters = inventory.by_name()
    members: dict[str, int] = {}
    for placement in placements.values():
        if placement.wave is not None:
            members[placement.wave] = members.get(placement.wave, 0) + 1
    steps: list[Step] = []
    skipped: list[str] = []
    for wave in policy.waves:
        wave_clusters = by_wave.get(wave.name, [])
        if not wave_clusters:
            skipped.append(wave.name)
            continue
        chunks = _split(wave, wave_clusters, clusters, members.get(wave.name, 0), policy)
        chunks = _apply_constraints(chunks, policy.constraints, clusters, inventory, policy.labels)
        numbered = wave.splits or len(chunks) > 1
        for index, (group, members_of_step, notes) in enumerate(chunks, start=1):
            steps.append(
                Step(
                    name=f"{wave.name}-{index}" if numbered else wave.name,
                    wave=wave.name,
                    clusters=tuple(members_of_step),
                    bake=wave.bake,
                    approval=wave.step_approval(index),
                    group=group,
                    notes=tuple(notes),
                )
            )
    return steps, skipped


Chunk = tuple[str | None, list[str], list[str]]  # (group, clusters, notes)


def step_limit(wave: Wave, members: int) -> int | None:
    """The most clusters one step of this wave may hold."""
    limits = []
    if wave.max_clusters:
        limits.append(wave.max_clusters)
    if wave.max_percent:
        limits.append(max(1, math.floor(members * wave.max_percent / 100)))
    return min(limits) if limits else None


def _split(
    wave: Wave,
    names: list[str],
    clusters: Mapping[str, Cluster],
    members: int,
    policy: RolloutPolicy,
) -> list[Chunk]:
    groups: dict[str | None, list[str]] = {}
    if wave.group_by:
        for name in names:
            groups.setdefault(group_value(clusters[name], wave.group_by, policy.labels), []).append(
                name
            )
    else:
        groups[None] = list(names)
    limit = step_limit(wave, members)
    chunks: list[Chunk] = []
    for group in _group_order(groups, wave.order):
        group_names = groups[group]
        size = limit or len(group_names)
        for start in range(0, len(group_names), size):
            notes = []
            if group is not None:
                notes.append(f"group {wave.group_by}={group}")
            if limit is not None and len(group_names) > limit:
                notes.append(f"split: at most {limit} cluster(s) per step")
            chunks.append((group, group_names[start : start + size], notes))
    return chunks


def _group_order(
    groups: Mapping[str | None, Sequence[str]], order: Sequence[str]
) -> list[str | None]:
    """Explicit order first, then smallest group first (ties by name), ungrouped last."""
    explicit = [g for g in order if g in groups]
    rest = sorted(
        (g for g in groups if g not in explicit),
        key=lambda g: (g == NO_GROUP, len(groups[g]), g or ""),
    )
    return [*explicit, *rest]


def _apply_constraints(
    chunks: list[Chunk],
    constraints: Sequence[Constraint],
    clusters: Mapping[str, Cluster],
    inventory: Inventory,
    roles: LabelRoles,
) -> list[Chunk]:
    for constraint in constraints:
        limits = _constraint_limits(constraint, inventory, roles)
        out: list[Chunk] = []
        for group, names, notes in chunks:
            out.extend(_split_for(constraint, limits, (group, names, notes), clusters, roles))
        chunks = out
    return chunks


def _constraint_limits(
    constraint: Constraint, inventory: Inventory, roles: LabelRoles
) -> dict[str, int]:
    """Per label value, the most clusters a step may hold."""
    totals: dict[str, int] = {}
    for cluster in inventory.clusters:
        value = group_value(cluster, constraint.label, roles)
        if value != NO_GROUP and (constraint.value is None or value == constraint.value):
            totals[value] = totals.get(value, 0) + 1
    limits = {}
    for value, total in totals.items():
        options = []
        if constraint.max_per_step is not None:
            options.append(constraint.max_per_step)
        if constraint.max_percent_per_step is not None:
            options.append(max(1, math.floor(total * constraint.max_percent_per_step / 100)))
        limits[value] = min(options)
    return limits


def _split_for(
    constraint: Constraint,
    limits: Mapping[str, int],
    chunk: Chunk,
    clusters: Mapping[str, Cluster],
    roles: LabelRoles,
) -> list[Chunk]:
    """Greedy, order-preserving: fill a step until some value would exceed its limit."""
    group, names, notes = chunk
    parts: list[list[str]] = [[]]
    counts: dict[str, int] = {}
    for name in names:
        value = group_value(clusters[name], constraint.label, roles)
        limit = limits.get(value)
        if limit is not None and counts.get(value, 0) >= limit:
            parts.append([])
            counts = {}
        parts[-1].append(name)
        if limit is not None:
            counts[value] = counts.get(value, 0) + 1
    if len(parts) == 1:
        return [(group, names, notes)]
    note = f"split by constraint: {constraint.describe()}"
    return [(group, part, [*notes, note]) for part in parts]
