"""Waves and steps: static membership, step naming, limits, groups, order, emergency."""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.inventory import Cluster, Inventory
from planner.placement import EMERGENCY, Step, place, plan_steps, step_limit
from planner.policy import RolloutPolicy, load_policy
from tests.testing.examples import examples
from tests.testing.policies import ISSUE_POLICY as _ISSUE_POLICY_TEXT

ISSUE_POLICY = _ISSUE_POLICY_TEXT.encode()


def cluster(name: str, env: str, region: str, *, canary: bool = False) -> Cluster:
    labels = {"environment": env, "region": region}
    if canary:
        labels["rollout.wave"] = "canary"
    return Cluster(name=name, labels=labels)


def inventory(clusters: Sequence[Cluster]) -> Inventory:
    return Inventory(clusters=tuple(sorted(clusters, key=lambda c: c.name)))


def policy(text: bytes = ISSUE_POLICY) -> RolloutPolicy:
    return load_policy(text, source="rollout.yaml")


def steps_for(
    inv: Inventory, pol: RolloutPolicy, affected: Sequence[str], emergency: str | None = None
) -> tuple[list[Step], list[str]]:
    return plan_steps(affected, place(inv, pol), pol, inv, emergency=emergency)


FLEET = inventory(
    [
        cluster("dev-a", "dev", "eu", canary=True),
        cluster("dev-b", "dev", "us"),
        cluster("stg-a", "staging", "eu"),
        *(cluster(f"prod-eu-{i}", "production", "eu") for i in range(1, 8)),
        *(cluster(f"prod-us-{i}", "production", "us") for i in range(1, 4)),
        cluster("qa-a", "qa", "eu"),
    ]
)


# ------------------------------------------------------------------------ membership


def test_membership_is_the_first_matching_wave() -> None:
    placements = place(FLEET, policy())
    assert placements["dev-a"].wave == "canary"
    assert placements["dev-a"].also_matches == ("staging",)
    assert placements["dev-b"].wave == "staging"
    assert placements["prod-us-1"].wave == "production"
    assert placements["qa-a"].wave is None
    assert "first wave whose selector matches" in placements["dev-a"].rule


# ----------------------------------------------------------------------------- steps


def test_issue_policy_splits_production_by_region_smallest_first() -> None:
    steps, skipped = steps_for(FLEET, policy(), [c.name for c in FLEET.clusters])
    assert [s.name for s in steps] == [
        "canary",
        "staging",
        "production-1",
        "production-2",
        "production-3",
    ]
    assert steps[2].clusters == ("prod-us-1", "prod-us-2", "prod-us-3")
    assert steps[3].clusters == tuple(f"prod-eu-{i}" for i in range(1, 6))
    assert steps[4].clusters == ("prod-eu-6", "prod-eu-7")
    assert steps[2].group == "us"
    assert steps[2].approval == "required"
    assert steps[0].bake == "1h"
    assert skipped == []


def test_qa_cluster_matching_no_wave_is_never_placed_in_a_step() -> None:
    steps, _ = steps_for(FLEET, policy(), ["qa-a", "dev-b"])
    assert [s.clusters for s in steps] == [("dev-b",)]


def test_waves_without_affected_clusters_are_skipped_in_policy_order() -> None:
    steps, skipped = steps_for(FLEET, policy(), ["stg-a"])
    assert [s.name for s in steps] == ["staging"]
    assert skipped == ["canary", "production"]


def test_a_splitting_wave_numbers_even_a_single_step() -> None:
    steps, _ = steps_for(FLEET, policy(), ["prod-us-1"])
    assert [s.name for s in steps] == ["production-1"]


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ("  max_percent: 30\n", [2, 2, 2, 1]),  # floor(7 * 30%) = 2 -> 7 clusters in 4 steps
        ("  max_percent: 1\n", [1] * 7),  # never below one cluster per step
        ("  max_clusters: 3\n  max_percent: 100\n", [3, 3, 1]),  # the smaller limit wins
    ],
)
def test_max_percent_counts_the_wave_members(extra: str, expected: list[int]) -> None:
    text = b"""\
waves:
- name: production
  selector: {matchLabels: {region: eu}}
""" + extra.encode()
    inv = inventory([cluster(f"prod-eu-{i}", "production", "eu") for i in range(1, 8)])
    steps, _ = steps_for(inv, policy(text), inv.names())
    assert [len(s.clusters) for s in steps] == expected
    assert [s.name for s in steps] == [f"production-{i}" for i in range(1, len(expected) + 1)]


def test_explicit_group_order_comes_first() -> None:
    text = b"""\
waves:
- name: production
  selector: {matchLabels: {environment: production}}
  group_by: region
  order: [eu]
"""
    steps, _ = steps_for(FLEET, policy(text), ["prod-eu-1", "prod-us-1"])
    assert [s.group for s in steps] == ["eu", "us"]


def test_group_by_a_role_uses_the_role_label() -> None:
    text = b"""\
waves:
- name: production
  selector: {matchLabels: {environment: production}}
  group_by: region
"""
    inv = inventory(
        [
            Cluster(name="a", labels={"environment": "production", "topo.io/region": "x"}),
            Cluster(name="b", labels={"environment": "production", "topo.io/region": "y"}),
            Cluster(name="c", labels={"environment": "production"}),
        ]
    )
    steps, _ = steps_for(inv, policy(text), inv.names())
    assert [s.group for s in steps] == ["x", "y", "(none)"]


def test_constraints_split_steps_further() -> None:
    text = (
        ISSUE_POLICY
        + b"""\
constraints:
- {label: region, value: eu, max_per_step: 2}
"""
    )
    steps, _ = steps_for(FLEET, policy(text), [f"prod-eu-{i}" for i in range(1, 8)])
    assert [len(s.clusters) for s in steps] == [2, 2, 1, 2]
    assert [s.name for s in steps] == [f"production-{i}" for i in range(1, 5)]
    assert any("split by constraint" in note for note in steps[0].notes)


def test_emergency_puts_every_affected_cluster_in_one_step() -> None:
    names = [c.name for c in FLEET.clusters]
    steps, skipped = steps_for(FLEET, policy(), names, emergency="CVE-2026-1234")
    assert len(steps) == 1
    assert steps[0].name == EMERGENCY
    assert steps[0].clusters == tuple(sorted(names))
    assert steps[0].notes == ("emergency: CVE-2026-1234",)
    assert skipped == []


def test_no_affected_clusters_means_no_steps() -> None:
    assert steps_for(FLEET, policy(), []) == ([], ["canary", "staging", "production"])
    assert steps_for(FLEET, policy(), [], emergency="x") == ([], [])


def test_step_limit() -> None:
    pol = policy()
    assert step_limit(pol.wave("production"), 100) == 5
    assert step_limit(pol.wave("canary"), 100) is None


# ------------------------------------------------------------------------ properties

ENVS = ("dev", "staging", "production", "qa")
REGIONS = ("eu", "us", "ap")


@st.composite
def fleets(draw: st.DrawFn) -> tuple[Inventory, list[str]]:
    count = draw(st.integers(min_value=0, max_value=40))
    clusters = []
    for index in range(count):
        env = draw(st.sampled_from(ENVS))
        region = draw(st.sampled_from(REGIONS))
        canary = draw(st.booleans()) and draw(st.booleans())
        clusters.append(cluster(f"c{index:03d}", env, region, canary=canary))
    inv = inventory(clusters)
    affected = draw(st.lists(st.sampled_from(inv.names()), unique=True)) if count else []
    return inv, affected


@st.composite
def policies(draw: st.DrawFn) -> RolloutPolicy:
    lines = [
        "waves:",
        "- name: canary",
        "  selector: {matchLabels: {rollout.wave: canary}}",
        "- name: staging",
        "  selector:",
        "    matchExpressions: [{key: environment, operator: In, values: [dev, staging]}]",
        "- name: production",
        "  selector: {matchLabels: {environment: production}}",
    ]
    if draw(st.booleans()):
        lines.append(f"  max_clusters: {draw(st.integers(min_value=1, max_value=7))}")
    if draw(st.booleans()):
        lines.append(f"  max_percent: {draw(st.integers(min_value=1, max_value=100))}")
    if draw(st.booleans()):
        lines.append("  group_by: region")
    return _parsed(("\n".join(lines) + "\n").encode())


@functools.cache
def _parsed(text: bytes) -> RolloutPolicy:
    """A drawn policy, parsed once per text (at most 8 * 101 * 2 texts; the models are frozen)."""
    return policy(text)


@settings(max_examples=examples(100), deadline=None)
@given(fleet=fleets(), pol=policies())
def test_steps_properties(fleet: tuple[Inventory, list[str]], pol: RolloutPolicy) -> None:
    inv, affected = fleet
    placements = place(inv, pol)
    steps, skipped = plan_steps(affected, placements, pol, inv)
    placed = sorted(a for a in affected if placements[a].wave is not None)
    # every affected (placed) cluster is in exactly one step
    in_steps = [c for s in steps for c in s.clusters]
    assert sorted(in_steps) == placed
    order = [w.name for w in pol.waves]
    # policy order kept; each wave's steps are contiguous and numbered 1..n
    assert [order.index(s.wave) for s in steps] == sorted(order.index(s.wave) for s in steps)
    by_name = inv.by_name()
    members = {w: sum(1 for p in placements.values() if p.wave == w) for w in order}
    for wave in pol.waves:
        mine = [s for s in steps if s.wave == wave.name]
        if wave.splits:
            assert [s.name for s in mine] == [f"{wave.name}-{i}" for i in range(1, len(mine) + 1)]
        else:
            assert [s.name for s in mine] in ([], [wave.name])
        for step in mine:
            assert step.clusters
            assert all(placements[c].wave == wave.name for c in step.clusters)
            if wave.max_clusters:
                assert len(step.clusters) <= wave.max_clusters
            if wave.max_percent:
                limit = max(1, math.floor(members[wave.name] * wave.max_percent / 100))
                assert len(step.clusters) <= limit
            if wave.group_by:
                groups = {by_name[c].labels["region"] for c in step.clusters}
                assert len(groups) == 1
                assert step.group in groups
    # skipped: exactly the waves without affected clusters, in policy order
    assert skipped == [w for w in order if not any(s.wave == w for s in steps)]


@settings(max_examples=examples(50), deadline=None)
@given(fleet=fleets(), pol=policies())
def test_emergency_property(fleet: tuple[Inventory, list[str]], pol: RolloutPolicy) -> None:
    inv, affected = fleet
    steps, skipped = plan_steps(affected, place(inv, pol), pol, inv, emergency="why")
    assert skipped == []
    if affected:
        assert len(steps) == 1
        assert sorted(steps[0].clusters) == sorted(affected)
    else:
        assert steps == []
