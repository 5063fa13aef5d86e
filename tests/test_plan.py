"""The pure heart: graph + changes + inventory + policy -> Plan, with its JSON guarantees."""

from __future__ import annotations

from planner.changes import Change, ChangeSet, ChangeStatus
from planner.inventory import parse_inventory
from planner.plan import SCHEMA_VERSION, PlanInputs, plan_change
from planner.policy import default_policy
from planner.snapshot import MemorySnapshot

K = "kustomization.yaml"
FILES = {
    f"base/{K}": b"resources: [ns.yaml]\n",
    "base/ns.yaml": b"apiVersion: v1\nkind: Namespace\n",
    f"regions/eu-west/{K}": b"resources: [../../base]\n",
    f"clusters/dev-1/{K}": b"resources: [../../base]\n",
    f"clusters/prod-eu-1/{K}": b"resources: [../../regions/eu-west]\n",
    f"clusters/prod-eu-2/{K}": b"resources: [../../regions/eu-west]\n",
    f"clusters/prod-us-1/{K}": b"resources: [../../base]\n",
}
INVENTORY = parse_inventory(
    {
        "clusters.yaml": b"""clusters:
- {name: dev-1, labels: {environment: dev, rollout.wave: canary}}
- {name: prod-eu-1, labels: {environment: production, region: eu-west}}
- {name: prod-eu-2, labels: {environment: production, region: eu-west}}
- {name: prod-us-1, labels: {environment: production, region: us-east}}
"""
    },
    source="clusters.yaml",
)


def inputs(changed: list[str], emergency: str | None = None) -> PlanInputs:
    head = MemorySnapshot(FILES, "h" * 40)
    base = MemorySnapshot(FILES, "b" * 40)
    changes = ChangeSet(
        changes=tuple(Change(path=p, status=ChangeStatus.MODIFIED) for p in changed)
    )
    return PlanInputs(
        head=head,
        base=base,
        changes=changes,
        inventory=INVENTORY,
        base_inventory=INVENTORY,
        policy=default_policy(INVENTORY),
        emergency=emergency,
    )


def test_global_change_rolls_out_canary_then_production_by_region() -> None:
    plan = plan_change(inputs(["base/ns.yaml"]))
    assert plan.schema_version == SCHEMA_VERSION
    assert plan.summary.scope == "global"
    assert [(s.name, s.clusters) for s in plan.waves] == [
        ("canary", ("dev-1",)),
        ("production-1", ("prod-us-1",)),
        ("production-2", ("prod-eu-1", "prod-eu-2")),
    ]
    assert plan.skipped_waves == ("staging",)


def test_every_cluster_in_exactly_one_of_affected_and_unaffected() -> None:
    plan = plan_change(inputs([f"regions/eu-west/{K}"]))
    assert plan.affected_names() == ["prod-eu-1", "prod-eu-2"]
    assert plan.unaffected == ("dev-1", "prod-us-1")
    assert sorted(c for s in plan.waves for c in s.clusters) == plan.affected_names()


def test_membership_lists_every_cluster_whether_affected_or_not() -> None:
    plan = plan_change(inputs([f"clusters/dev-1/{K}"]))
    members = {m.wave: m.clusters for m in plan.membership}
    assert members == {
        "canary": ("dev-1",),
        "production": ("prod-eu-1", "prod-eu-2", "prod-us-1"),
    }


def test_same_input_same_plan_and_id() -> None:
    one = plan_change(inputs(["base/ns.yaml"]))
    two = plan_change(inputs(["base/ns.yaml"]))
    assert one.model_dump_json() == two.model_dump_json()
    assert one.id != plan_change(inputs(["base/ns.yaml"], emergency="CVE-1")).id


def test_unowned_change_is_a_warning_not_a_silent_empty_plan() -> None:
    plan = plan_change(inputs(["stray/notes.yaml"]))
    assert plan.affected == ()
    assert plan.unowned == ("stray/notes.yaml",)
    assert [w.code for w in plan.warnings] == ["reaches-no-cluster"]
    assert plan.summary.scope == "none"
