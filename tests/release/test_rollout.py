"""The rollout state machine (planner.release): pure transitions, gates, drift, conflicts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.emit.pinned import pin_elements
from planner.plan import Plan
from planner.release import drift, model, times, transitions
from planner.release.drift import Observed
from planner.release.model import Refused, Rollout
from tests.testing.examples import examples
from tests.testing.rolloutstate import (
    BASE,
    HEAD,
    STEPS,
    T0,
    WAVES,
    at,
    fresh,
    make_inventory,
    make_plan,
    ok,
    refused,
)

# ------------------------------------------------------------------------------- start


def test_start_has_every_step_pending_and_one_history_line() -> None:
    state = fresh()
    assert [s.name for s in state.steps] == ["canary", "staging", "production-1", "production-2"]
    assert {s.state for s in state.steps} == {"pending"}
    assert model.state_of(state) == "pending"
    assert [e.action for e in state.history] == ["start"]
    assert state.history[0].at == "2024-01-03T09:00:00Z"
    assert model.pins(state) == {
        "c1": BASE, "p1": BASE, "p2": BASE, "p3": BASE, "s1": BASE, "s2": BASE,
        "u1": HEAD, "u2": HEAD,
    }  # fmt: skip


def test_state_round_trips_through_json_strictly() -> None:
    state = ok(transitions.advance(fresh(), at(1), "rm"))
    again = Rollout.model_validate_json(state.model_dump_json())
    assert again == state


def test_state_rejects_unknown_keys_and_bad_values() -> None:
    data = fresh().model_dump(mode="json")
    with pytest.raises(ValueError, match="extra"):
        Rollout.model_validate({**data, "surprise": 1})
    with pytest.raises(ValueError, match="40-character"):
        Rollout.model_validate({**data, "base": "abc"})
    with pytest.raises(ValueError, match="rollout name"):
        Rollout.model_validate({**data, "name": "Bad Name"})


# ----------------------------------------------------------------------------- advance

# (description, actions before, advance kwargs at minute, expected gate or released step)
ADVANCE_CASES: list[tuple[str, list[tuple[str, float, dict[str, Any]]], float, dict[str, Any],
                          str]] = [
    ("first step is open", [], 0, {}, "released:canary"),
    ("inside the canary bake", [("advance", 0, {})], 59, {}, "bake"),
    ("bake passed", [("advance", 0, {})], 60, {}, "released:staging"),
    ("force past the bake", [("advance", 0, {})], 5, {"force": True, "reason": "hotfix"},
     "released:staging"),
    ("force without a reason is no force", [("advance", 0, {})], 5, {"force": True}, "bake"),
    ("approval required", [("advance", 0, {}), ("advance", 60, {})], 120, {}, "approval"),
    ("approve without a name", [("advance", 0, {}), ("advance", 60, {})], 120,
     {"approve": True}, "approval"),
    ("approved", [("advance", 0, {}), ("advance", 60, {})], 120,
     {"approve": True, "by": "alice"}, "released:production-1"),
    ("force never replaces approval", [("advance", 0, {}), ("advance", 60, {})], 120,
     {"force": True, "reason": "x"}, "approval"),
    ("paused", [("pause", 0, {})], 1, {}, "paused"),
    ("paused even when forced", [("pause", 0, {})], 1, {"force": True, "reason": "x"},
     "paused"),
    ("resumed", [("pause", 0, {}), ("resume", 1, {})], 2, {}, "released:canary"),
    ("halted after rollback", [("advance", 0, {}), ("rollback", 1, {})], 200, {}, "halted"),
    ("forced after rollback", [("advance", 0, {}), ("rollback", 1, {})], 200,
     {"force": True, "reason": "fixed by config"}, "released:canary"),
    ("everything released", [("advance", 0, {}), ("advance", 60, {}),
                             ("advance", 120, {"approve": True, "by": "a"}),
                             ("advance", 180, {"approve": True, "by": "b"})], 240, {}, "done"),
]  # fmt: skip


def apply(state: Rollout, action: str, minute: float, kwargs: dict[str, Any]) -> Rollout:
    verbs = {
        "advance": lambda: transitions.advance(state, at(minute), "rm", **kwargs),
        "rollback": lambda: transitions.rollback(state, at(minute), "rm", **kwargs),
        "pause": lambda: transitions.pause(state, at(minute), "rm"),
        "resume": lambda: transitions.resume(state, at(minute), "rm"),
    }
    return ok(verbs[action]())


@pytest.mark.parametrize(
    ("before", "minute", "kwargs", "expected"),
    [pytest.param(b, m, k, e, id=d) for d, b, m, k, e in ADVANCE_CASES],
)
def test_advance_gates(
    before: list[tuple[str, float, dict[str, Any]]],
    minute: float,
    kwargs: dict[str, Any],
    expected: str,
) -> None:
    state = fresh()
    for action, when, args in before:
        state = apply(state, action, when, args)
    outcome = transitions.advance(state, at(minute), "rm", **kwargs)
    if expected.startswith("released:"):
        step = expected.split(":", 1)[1]
        new = ok(outcome)
        found = new.step(step)
        assert found is not None
        assert found.state == "released"
        assert found.released_at == times.format_time(at(minute))
        assert new.history[-1].action == "advance"
        assert new.history[-1].step == step
    else:
        assert refused(outcome).gate == expected
        assert transitions.next_gate(state, at(minute)).kind in (expected, "open")


def test_bake_refusal_says_the_time_left() -> None:
    state = ok(transitions.advance(fresh(), at(0), "rm"))
    outcome = refused(transitions.advance(state, at(15), "rm"))
    assert outcome.seconds_left == 45 * 60
    assert "time left: 45m" in outcome.message()
    assert "canary is baking" in outcome.message()
    gate = transitions.next_gate(state, at(15))
    assert (gate.kind, gate.until) == ("bake", "2024-01-03T10:00:00Z")


def test_approval_and_force_are_recorded() -> None:
    state = ok(transitions.advance(fresh(), at(0), "rm"))
    state = ok(transitions.advance(state, at(10), "rm", force=True, reason="CVE fix"))
    staging = state.step("staging")
    assert staging is not None
    assert staging.forced_reason == "CVE fix"
    assert "forced past bake: CVE fix" in state.history[-1].detail
    state = ok(transitions.advance(state, at(100), "alice", approve=True, by="alice"))
    prod = state.step("production-1")
    assert prod is not None
    assert (prod.approved_by, prod.forced_reason) == ("alice", None)
    assert state.history[-1].actor == "alice"
    assert "approved by alice" in state.history[-1].detail


def test_rollback_one_step_or_all() -> None:
    state = ok(transitions.advance(fresh(), at(0), "rm"))
    state = ok(transitions.advance(state, at(60), "rm"))
    one = ok(transitions.rollback(state, at(61), "rm", step="staging"))
    assert [s.state for s in one.steps][:2] == ["released", "rolled-back"]
    assert model.pins(one)["s1"] == BASE
    assert model.pins(one)["c1"] == HEAD
    assert model.state_of(one) == "halted"
    assert model.is_active(one)
    every = ok(transitions.rollback(state, at(61), "rm"))
    assert model.released(every) == frozenset()
    assert model.state_of(every) == "rolled-back"
    assert not model.is_active(every)
    assert refused(transitions.rollback(every, at(62), "rm")).gate == "step"
    assert refused(transitions.rollback(state, at(62), "rm", step="production-1")).gate == "step"
    assert refused(transitions.rollback(state, at(62), "rm", step="nope")).gate == "step"


def test_pause_twice_and_resume_unpaused_are_refused() -> None:
    paused = ok(transitions.pause(fresh(), at(0), "rm"))
    assert model.state_of(paused) == "paused"
    assert refused(transitions.pause(paused, at(1), "rm")).gate == "paused"
    assert refused(transitions.resume(fresh(), at(1), "rm")).gate == "paused"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (59, "59s"), (60, "1m"), (3599, "59m 59s"), (3600, "1h"), (90061, "1d 1h")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert times.format_duration(seconds) == text


def test_times_are_utc() -> None:
    assert (
        times.format_time(times.parse_time("2024-01-03T11:00:00+02:00")) == "2024-01-03T09:00:00Z"
    )
    assert times.format_time(times.parse_time("2024-01-03T09:00:00")) == "2024-01-03T09:00:00Z"
    with pytest.raises(ValueError, match="ISO 8601"):
        times.parse_time("yesterday")


# ------------------------------------------------------------------ drift and conflicts


def observed(plan: Plan, clusters: list[str] | None = None) -> Observed:
    names = clusters if clusters is not None else sorted(c for cs in WAVES.values() for c in cs)
    return drift.observe(plan, names)


def test_no_drift_when_the_plan_matches() -> None:
    assert drift.drift(fresh(), observed(make_plan())) == []


def test_drift_names_what_changed() -> None:
    state = fresh()
    steps = [dict(s) for s in STEPS]
    steps[2] = {**steps[2], "clusters": ["p1"]}
    waves = {**WAVES, "production": ["p1", "p3", "u2"], "staging": ["s1", "s2", "u1", "n1"]}
    plan = make_plan(steps, waves).model_copy(
        update={
            "inventory": make_plan().inventory.model_copy(update={"digest": "j" * 64}),
        }
    )
    changes = drift.drift(state, observed(plan, sorted(c for cs in waves.values() for c in cs)))
    assert changes == [
        "the inventory changed (digest iiiiiiiiiiii -> jjjjjjjjjjjj)",
        "cluster p2 (an affected cluster) was removed from the inventory",
        "cluster n1 was added to the inventory",
        "step production-1 now holds different clusters (-p2)",
    ]


def test_drift_when_the_policy_moves_a_cluster() -> None:
    waves = {**WAVES, "canary": ["c1", "s1"], "staging": ["s2", "u1"]}
    steps = [dict(s) for s in STEPS]
    steps[0] = {**steps[0], "clusters": ["c1", "s1"]}
    steps[1] = {**steps[1], "clusters": ["s2"]}
    plan = make_plan(steps, waves).model_copy(
        update={"policy": make_plan().policy.model_copy(update={"digest": "q" * 64})}
    )
    changes = drift.drift(fresh(), observed(plan))
    assert changes[0].startswith("the policy changed")
    assert "cluster s1 moved from wave staging to wave canary" in changes
    assert "step canary now holds different clusters (+s1)" in changes


def test_conflicts_only_with_active_rollouts_on_shared_clusters() -> None:
    first = fresh()
    other = first.model_copy(update={"name": "other"})
    done = ok(
        transitions.rollback(ok(transitions.advance(other, at(0), "rm")), at(1), "rm")
    ).model_copy(update={"name": "done"})
    found = drift.conflicts(["p1", "p3", "zz"], [done, other])
    assert [(c.rollout, c.clusters) for c in found] == [("other", ("p1", "p3"))]
    assert found[0].message() == "rollout other is still active on p1, p3"
    assert drift.conflicts(["zz"], [other]) == []


# ----------------------------------------------------------------------------- property

ACTIONS = st.lists(
    st.tuples(
        st.sampled_from(["advance", "rollback", "rollback-step", "pause", "resume"]),
        st.integers(min_value=0, max_value=120),  # minutes since the previous action
        st.booleans(),  # approve
        st.booleans(),  # force
        st.sampled_from([s["name"] for s in STEPS]),
    ),
    max_size=25,
)


@settings(max_examples=examples(150), deadline=None)
@given(ACTIONS)
def test_pinned_to_head_iff_released_and_not_rolled_back(
    actions: list[tuple[str, int, bool, bool, str]],
) -> None:
    plan, inventory = make_plan(), make_inventory()
    state = fresh(plan)
    record: dict[str, str] = {s["name"]: "pending" for s in STEPS}  # an independent record
    now = T0
    for action, minutes, approve, force, step in actions:
        now += timedelta(minutes=minutes)
        if action == "advance":
            outcome = transitions.advance(
                state, now, "rm", approve=approve, by="alice", force=force, reason="r"
            )
        elif action == "rollback":
            outcome = transitions.rollback(state, now, "rm")
        elif action == "rollback-step":
            outcome = transitions.rollback(state, now, "rm", step=step)
        else:
            outcome = (transitions.pause if action == "pause" else transitions.resume)(
                state, now, "rm"
            )
        if isinstance(outcome, Refused):
            assert outcome.reason
            continue
        if action == "advance":
            released_now = outcome.history[-1].step
            assert released_now is not None
            assert record[released_now] != "released"
            record[released_now] = "released"
        elif action == "rollback":
            record = {k: "rolled-back" if v == "released" else v for k, v in record.items()}
        elif action == "rollback-step":
            record[step] = "rolled-back"
        assert outcome.history[:-1] == state.history  # append-only, one line per change
        state = outcome
        assert {s.name: s.state for s in state.steps} == record
        pinned = {
            e.cluster: e.revision
            for elements in pin_elements(plan, inventory, model.released(state)).values()
            for e in elements
        }
        assert pinned == model.pins(state)
        for s in STEPS:
            want = HEAD if record[s["name"]] == "released" else BASE
            assert all(pinned[c] == want for c in s["clusters"])
        assert pinned["u1"] == pinned["u2"] == HEAD
