"""The revision-pinning core: released steps, pinned elements, and what `prepare` refuses."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from planner import api
from planner.adapters.demo import build
from planner.api.emitting import with_nested_pins
from planner.api.inputs import open_workspace
from planner.emit.pinned import (
    EMERGENCY_ANNOTATION,
    PinnedPlan,
    parse_released,
    pin_elements,
    prepare,
    released_steps,
    unplaced,
)
from planner.errors import UserError
from planner.hierarchy.parsing import ParseCache
from planner.pins.applied import HeldParseCache
from planner.plan import Membership, plan_change
from tests.testing.emitkit import Planned, expected_revisions, planned
from tests.testing.fleetrepo import SCENARIOS_DIR, build_fleet_repo

URL = "https://git.example.com/fleet.git"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Planned:
    repo = build(tmp_path_factory.mktemp("emit") / "fleet-config")
    return planned(api.PlanRequest(repo=repo.path, base=repo.base, head=repo.head))


def test_demo_plan_has_four_steps(demo: Planned) -> None:
    assert [s.name for s in demo.plan.waves] == [
        "canary",
        "staging",
        "production-1",
        "production-2",
    ]


@pytest.mark.parametrize(
    ("released", "expected"),
    [
        (0, set()),
        (1, {"canary"}),
        (3, {"canary", "staging", "production-1"}),
        ("all", {"canary", "staging", "production-1", "production-2"}),
    ],
)
def test_released_steps_are_the_first_k(
    demo: Planned, released: int | str, expected: set[str]
) -> None:
    assert released_steps(demo.plan, released) == expected


def test_negative_release_is_a_bug(demo: Planned) -> None:
    with pytest.raises(ValueError, match=">= 0"):
        released_steps(demo.plan, -1)


@pytest.mark.parametrize("released", [0, 1, 2, 3, 4, "all"])
def test_pin_elements_follows_the_rule(demo: Planned, released: int | str) -> None:
    waves = pin_elements(demo.plan, demo.inventory, released_steps(demo.plan, released))
    assert list(waves) == ["canary", "staging", "production"]
    pins = {e.cluster: e.revision for elements in waves.values() for e in elements}
    assert pins == expected_revisions(demo.plan, released)
    for wave, elements in waves.items():
        assert [e.cluster for e in elements] == sorted(e.cluster for e in elements)
        assert {e.wave for e in elements} == {wave}


def test_unaffected_clusters_run_head_with_no_step(demo: Planned) -> None:
    plan = demo.plan.model_copy(update={"waves": demo.plan.waves[:1]})
    waves = pin_elements(plan, demo.inventory, frozenset())
    staging = waves["staging"]
    assert {(e.revision, e.step) for e in staging} == {(plan.head, "")}


@pytest.mark.parametrize(
    ("text", "expected"), [("0", 0), (" 3 ", 3), ("all", "all"), ("ALL", "all")]
)
def test_parse_released(text: str, expected: int | str) -> None:
    assert parse_released(text) == expected


@pytest.mark.parametrize("text", ["-1", "1.5", "some", ""])
def test_parse_released_rejects(text: str) -> None:
    with pytest.raises(UserError, match="--released"):
        parse_released(text)


def test_prepare_needs_commits(demo: Planned) -> None:
    plan = demo.plan.model_copy(update={"head": "worktree"})
    with pytest.raises(UserError, match="not a commit"):
        prepare(plan, demo.inventory, demo.policy.labels, 0, "https://x.example.com/r")


def test_prepare_refuses_more_steps_than_the_plan_has(demo: Planned) -> None:
    with pytest.raises(UserError, match="only 4 step"):
        prepare(demo.plan, demo.inventory, demo.policy.labels, 5, "https://x.example.com/r")


def test_prepare_keeps_regions_and_metadata(demo: Planned) -> None:
    rollout = demo.rollout(2)
    assert rollout.released == ("canary", "staging")
    assert rollout.regions["prod-eu-west-1"] == "eu-west"
    annotations = rollout.annotations()
    assert annotations["wave-planner.io/released"] == "2/4"
    assert EMERGENCY_ANNOTATION not in annotations
    urgent = PinnedPlan(**{**rollout.__dict__, "emergency": "CVE"})
    assert urgent.annotations()[EMERGENCY_ANNOTATION] == "CVE"


def test_unplaced_clusters_are_found(demo: Planned) -> None:
    assert unplaced(demo.plan) == ()
    extra = (*demo.plan.membership, Membership(wave="(none)", clusters=("lost",)))
    assert unplaced(demo.plan.model_copy(update={"membership": extra})) == ("lost",)


@pytest.mark.parametrize("fleet", ["flux-nested", "argocd-nested", "flux-multi-tenancy"])
def test_nested_pins_from_the_plans_parses_are_those_of_a_fresh_read(
    fleet: str, tmp_path: Path
) -> None:
    """emit hands the tracer the kustomizations the plan parsed: the same pins as reading
    and parsing every file again, for both targets and both revisions."""
    repo = build_fleet_repo(SCENARIOS_DIR / fleet, tmp_path / "repo")
    workspace = open_workspace(api.PlanRequest(repo=repo.path, base=repo.base, head=repo.head))
    try:
        parses = HeldParseCache()
        inputs = dataclasses.replace(workspace.inputs, cache=parses)
        plan = plan_change(inputs)
        kfiles = [p for p in inputs.head.files() if p.endswith("/kustomization.yaml")]
        assert any(parses.get(p, inputs.head.blob_id(p)) is not None for p in kfiles)
        fresh = dataclasses.replace(inputs, cache=ParseCache())
        native = "argocd" if fleet.startswith("argocd") else "flux"
        for released in (0, "all"):
            pinned = prepare(plan, inputs.inventory, inputs.policy.labels, released, URL)
            for target in ("flux", "argocd"):
                held = with_nested_pins(pinned, inputs, target).pins
                assert held == with_nested_pins(pinned, fresh, target).pins
                assert any(found.pins for found in held.values()) or target != native
        parses.release()
        assert all(parses.get(p, inputs.head.blob_id(p)) is None for p in kfiles)
    finally:
        workspace.close()
