"""Every fixture fleet, end to end through the library: the affected set is exactly expected.

Each scenario under tests/fleets/ is a real git repository (base and head commits). The
expected sets were checked against rendered truth (`kubectl kustomize` at both commits):
every cluster whose render changed must be affected.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner import api
from tests.testing.fleetrepo import (
    SCENARIOS_DIR,
    FleetRepo,
    default_plan,
    list_scenarios,
    load_scenario,
)


@pytest.mark.parametrize("name", list_scenarios())
def test_scenario_affected_set(name: str, fleet: Callable[[str], FleetRepo]) -> None:
    scenario = load_scenario(SCENARIOS_DIR / name)
    built = fleet(name)
    plan = api.plan(
        api.PlanRequest(
            repo=built.path,
            base=built.base,
            head=built.head,
            inventory=built.path / "clusters.yaml",
        )
    )
    expected = scenario["expected"]
    assert sorted(plan.affected_names()) == sorted(expected["affected"]), scenario["description"]
    assert sorted(plan.unaffected) == sorted(expected["unaffected"])
    assert sorted(plan.removed) == sorted(expected.get("removed", []))
    truth = scenario.get("oracle", {}).get("truth_changed", [])
    assert set(truth) <= set(plan.affected_names()), "a cluster whose render changed was missed"


@pytest.mark.parametrize("name", list_scenarios())
def test_every_cluster_in_exactly_one_of_affected_unaffected(
    name: str, fleet: Callable[[str], FleetRepo]
) -> None:
    plan = default_plan(fleet(name))
    affected, unaffected = plan.affected_names(), list(plan.unaffected)
    assert not set(affected) & set(unaffected)
    assert len(affected) + len(unaffected) == plan.summary.clusters_total
    stepped = [c for s in plan.waves for c in s.clusters]
    assert sorted(stepped) == sorted(affected) or plan.violations
