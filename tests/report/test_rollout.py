"""How a rollout is shown (planner.report.rollout)."""

from __future__ import annotations

import json

from planner import api
from planner.release import transitions
from planner.release.model import Rollout
from planner.report import rollout as report
from tests.testing.rolloutstate import at, fresh, ok


def view(state: Rollout, minute: float, drift: tuple[str, ...] = ()) -> api.RolloutView:
    return api.RolloutView(state, transitions.next_gate(state, at(minute)), at(minute), drift)


def test_json_has_the_contract_keys() -> None:
    state = ok(transitions.advance(fresh(), at(0), "rm"))
    data = json.loads(report.render_json(view(state, 10)))
    assert {"name", "state", "base", "head", "steps", "history"} <= set(data)
    assert data["steps"][0] == {
        "name": "canary", "wave": "canary", "clusters": ["c1"], "state": "released",
        "released_at": "2024-01-03T09:00:00Z", "approved_by": None, "forced_reason": None,
        "rolled_back_at": None, "bake": "1h", "approval": "none",
    }  # fmt: skip
    assert data["next"] == {
        "step": "staging", "gate": "bake", "seconds_left": 3000,
        "until": "2024-01-03T10:00:00Z", "text": data["next"]["text"],
    }  # fmt: skip


def test_table_shows_the_gate_and_drift_first() -> None:
    state = ok(transitions.advance(fresh(), at(0), "rm"))
    text = report.render_table(view(state, 10, ("the policy changed",)))
    assert text.startswith("DRIFT: the policy changed\n")
    assert "next: staging, held by bake" in text
    assert "(time left 50m)" in text


def test_markdown_timeline_neutralises_user_text() -> None:
    state = ok(transitions.advance(fresh(), at(0), "eve | <b>`x`</b>: ```"))
    text = report.render_markdown(view(state, 70))
    assert "```mermaid\ntimeline\n    title rollout change-1\n" in text
    assert "    2024-01-03 09h00 : advance canary by eve b x /b" in text
    assert "<b>" not in text
    assert text.count("```") == 2


def test_list() -> None:
    assert report.render_list([]) == "no rollouts under waves/\n"
    text = report.render_list([view(fresh(), 0)])
    assert "change-1" in text
    assert "0/4" in text
