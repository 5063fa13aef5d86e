"""Blast-radius constraints: steps are split until every limit holds, and the plan says so."""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner import yamlsafe
from planner.cli import app
from planner.inventory import Inventory, parse_inventory
from planner.placement import NO_GROUP, Step, group_value, place, plan_steps
from planner.policy import Constraint, RolloutPolicy, load_policy
from tests.testing.examples import examples
from tests.testing.fleetrepo import FleetRepo


def inventory(clusters: Sequence[Mapping[str, object]]) -> Inventory:
    text = yamlsafe.dump({"clusters": clusters}).encode()
    return parse_inventory({"clusters.yaml": text}, source="clusters.yaml")


def steps_for(
    inv: Inventory, policy: RolloutPolicy, affected: list[str] | None = None
) -> list[Step]:
    placements = place(inv, policy)
    steps, _ = plan_steps(affected or inv.names(), placements, policy, inv)
    return steps


PCI_FLEET = inventory(
    [
        {"name": f"prod-{i}", "labels": {"environment": "production", "compliance": c}}
        for i, c in enumerate(["pci", "pci", "pci", "gdpr", "gdpr", "none"])
    ]
)


def test_at_most_one_pci_cluster_per_step_and_the_plan_says_so() -> None:
    policy = load_policy(
        b"waves:\n- name: production\n  selector: {}\n"
        b"constraints:\n- {label: compliance, value: pci, max_per_step: 1}\n",
        source="rollout.yaml",
    )
    steps = steps_for(PCI_FLEET, policy)
    by_cluster = PCI_FLEET.by_name()
    for step in steps:
        pci = [c for c in step.clusters if by_cluster[c].labels["compliance"] == "pci"]
        assert len(pci) <= 1
    assert [s.name for s in steps] == ["production-1", "production-2", "production-3"]
    note = "split by constraint: at most 1 cluster(s) of compliance=pci per step"
    assert all(note in s.notes for s in steps)
    assert sorted(c for s in steps for c in s.clusters) == PCI_FLEET.names()


def test_at_most_a_quarter_of_a_region_per_step() -> None:
    clusters = [
        {"name": f"eu-{i}", "labels": {"environment": "production", "region": "eu-west"}}
        for i in range(8)
    ] + [
        {"name": f"us-{i}", "labels": {"environment": "production", "region": "us-east"}}
        for i in range(2)
    ]
    inv = inventory(clusters)
    policy = load_policy(
        b"waves:\n- name: production\n  selector: {}\n"
        b"constraints:\n- {label: region, max_percent_per_step: 25}\n",
        source="rollout.yaml",
    )
    steps = steps_for(inv, policy)
    for step in steps:
        regions = Counter(inv.by_name()[c].labels["region"] for c in step.clusters)
        assert regions["eu-west"] <= 2  # 25% of 8
        assert regions["us-east"] <= 1  # 25% of 2 rounds down, but at least 1
        assert "split by constraint: at most 25% of one region per step" in step.notes


def test_no_split_and_no_note_when_the_limit_already_holds() -> None:
    policy = load_policy(
        b"waves:\n- name: production\n  selector: {}\n"
        b"constraints:\n- {label: compliance, value: pci, max_per_step: 5}\n",
        source="rollout.yaml",
    )
    (step,) = steps_for(PCI_FLEET, policy)
    assert step.name == "production"
    assert step.notes == ()


def test_constraints_split_within_waves_and_groups_only() -> None:
    clusters = [
        {"name": f"c{i}", "labels": {"environment": env, "region": region, "compliance": "pci"}}
        for i, (env, region) in enumerate(
            [("staging", "eu"), ("staging", "us"), ("production", "eu"), ("production", "us")]
        )
    ]
    inv = inventory(clusters)
    policy = load_policy(
        b"waves:\n- name: staging\n  selector: {matchLabels: {environment: staging}}\n"
        b"- name: production\n  selector: {}\n  group_by: region\n"
        b"constraints:\n- {label: compliance, value: pci, max_per_step: 1}\n",
        source="rollout.yaml",
    )
    steps = steps_for(inv, policy)
    assert [(s.name, s.clusters) for s in steps] == [
        ("staging-1", ("c0",)),
        ("staging-2", ("c1",)),
        ("production-1", ("c2",)),
        ("production-2", ("c3",)),
    ]


# ----------------------------------------------------------------------- property

LABEL_VALUES = {
    "environment": ["dev", "staging", "production"],
    "region": ["eu-west", "us-east", "ap-south"],
    "compliance": ["pci", "gdpr", "hipaa"],
}


# The strategies are built once: hypothesis validates a strategy object the first time it is
# drawn from, which costs more than the draw when the object is new for every example.
LABELS = {key: st.sampled_from(values) for key, values in LABEL_VALUES.items()}
CONSTRAINTS = st.lists(
    st.builds(
        Constraint,
        label=st.sampled_from(["compliance", "region", "environment"]),
        value=st.none() | st.sampled_from(["pci", "eu-west", "production"]),
        max_per_step=st.integers(min_value=1, max_value=4),
        max_percent_per_step=st.none() | st.floats(min_value=1, max_value=100),
    )
    | st.builds(
        Constraint,
        label=st.sampled_from(["compliance", "region"]),
        max_percent_per_step=st.floats(min_value=1, max_value=100),
    ),
    max_size=3,
)
WAVES = (
    "waves:\n"
    "- name: canary\n  selector: {matchLabels: {rollout.wave: canary}}\n"
    "- name: staging\n  selector: {matchLabels: {environment: staging}}\n"
    "- name: production\n  selector: {matchLabels: {environment: production}}\n"
)
POLICIES = st.sampled_from(
    [
        load_policy((WAVES + extra).encode(), source="rollout.yaml")
        for extra in (
            "",
            "  group_by: region\n",
            "  max_clusters: 2\n",
            "  max_percent: 50\n",
            "  group_by: compliance\n  max_clusters: 3\n",
        )
    ]
)


@st.composite
def fleets(draw: st.DrawFn) -> tuple[Inventory, RolloutPolicy, list[str]]:
    count = draw(st.integers(min_value=1, max_value=30))
    clusters = []
    for index in range(count):
        labels = {
            key: draw(LABELS[key])
            for key in LABEL_VALUES
            if draw(st.booleans()) or key == "environment"
        }
        if draw(st.booleans()):
            labels["rollout.wave"] = "canary"
        clusters.append({"name": f"c{index:02d}", "labels": labels})
    inv = inventory(clusters)
    constraints = draw(CONSTRAINTS)
    base = draw(POLICIES)
    policy = base.model_copy(update={"constraints": tuple(constraints)})
    # Half the time every cluster is affected (a change to a shared base): full waves are
    # where the limits bind.
    every = draw(st.booleans())
    affected = inv.names() if every else draw(st.lists(st.sampled_from(inv.names()), unique=True))
    return inv, policy, affected


def _limit(constraint: Constraint, total: int) -> int:
    options = []
    if constraint.max_per_step is not None:
        options.append(constraint.max_per_step)
    if constraint.max_percent_per_step is not None:
        options.append(max(1, math.floor(total * constraint.max_percent_per_step / 100)))
    return min(options)


@settings(max_examples=examples(200), deadline=None)
@given(fleets())
def test_no_step_breaks_a_constraint_and_every_affected_cluster_is_in_one_step(
    drawn: tuple[Inventory, RolloutPolicy, list[str]],
) -> None:
    inv, policy, affected = drawn
    placements = place(inv, policy)
    steps, skipped = plan_steps(affected, placements, policy, inv)
    stepped = [c for s in steps for c in s.clusters]
    placed = sorted(c for c in affected if placements[c].wave is not None)
    assert sorted(stepped) == placed, "every placed affected cluster in exactly one step"
    assert len(stepped) == len(set(stepped))
    assert all(s.clusters for s in steps), "no empty step"
    by_name = inv.by_name()
    for constraint in policy.constraints:
        totals = Counter(
            v
            for c in inv.clusters
            if (v := group_value(c, constraint.label, policy.labels)) != NO_GROUP
            and (constraint.value is None or v == constraint.value)
        )
        for step in steps:
            counts = Counter(
                group_value(by_name[c], constraint.label, policy.labels) for c in step.clusters
            )
            for value, total in totals.items():
                assert counts[value] <= _limit(constraint, total), (step, constraint)
    waves_with_steps = {s.wave for s in steps}
    assert not waves_with_steps & set(skipped)
    order = [w.name for w in policy.waves]
    assert [s.wave for s in steps] == sorted((s.wave for s in steps), key=order.index)


def test_the_plan_says_a_constraint_split_its_steps(
    fleet: Callable[[str], FleetRepo], tmp_path: Path
) -> None:
    built = fleet("incident-fixed")
    policy = tmp_path / "rollout.yaml"
    policy.write_text(
        "waves:\n- name: production\n  selector: {}\n"
        "constraints:\n- {label: compliance, value: gdpr, max_per_step: 1}\n"
    )
    args = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    args += ["--policy", str(policy)]
    table = CliRunner().invoke(app, args)
    assert table.exit_code == 0, table.output
    assert (
        "steps split by a blast-radius constraint: at most 1 cluster(s) of compliance=gdpr "
        "per step" in table.output
    )
    plan = json.loads(CliRunner().invoke(app, [*args, "--format", "json"]).output)
    assert [(w["name"], w["clusters"]) for w in plan["waves"]] == [
        ("production-1", ["prod-eu-west-1"]),
        ("production-2", ["prod-eu-west-2"]),
    ]
    assert all(
        "split by constraint: at most 1 cluster(s) of compliance=gdpr per step" in w["notes"]
        for w in plan["waves"]
    )
