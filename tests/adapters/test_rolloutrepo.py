"""The rollout's home in the fleet repository (planner.adapters.rolloutrepo)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from planner.adapters import rolloutrepo
from planner.errors import UserError
from planner.release import messages
from planner.release.messages import STATE_HEADER
from tests.testing.rolloutstate import fresh


def test_now_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_PLANNER_NOW", "2024-01-03T11:00:00+02:00")
    assert rolloutrepo.now() == datetime(2024, 1, 3, 9, 0, tzinfo=UTC)
    monkeypatch.setenv("WAVE_PLANNER_NOW", "soon")
    with pytest.raises(UserError, match="WAVE_PLANNER_NOW"):
        rolloutrepo.now()
    monkeypatch.delenv("WAVE_PLANNER_NOW")
    assert rolloutrepo.now().tzinfo is not None


def test_write_then_read_round_trips_and_rewrites_nothing_unchanged(tmp_path: Path) -> None:
    state = fresh()
    written = rolloutrepo.write(tmp_path, state, {"canary.yaml": b"a: 1\n"})
    assert written == [
        "waves/change-1/argocd/canary.yaml",
        "waves/change-1/rollout.yaml",
    ]
    assert rolloutrepo.read(tmp_path, "change-1") == state
    assert rolloutrepo.names(tmp_path) == ["change-1"]
    assert rolloutrepo.write(tmp_path, state, {"canary.yaml": b"a: 1\n"}) == []
    text = (tmp_path / "waves/change-1/rollout.yaml").read_text()
    assert text.startswith(STATE_HEADER)
    assert messages.dump_state(state) == messages.dump_state(
        messages.load_state(text.encode(), source="x")
    )


def test_hand_edits_are_reported_with_the_file_and_key(tmp_path: Path) -> None:
    rolloutrepo.write(tmp_path, fresh())
    path = tmp_path / "waves/change-1/rollout.yaml"
    path.write_text(path.read_text().replace("paused: false", "paused: 'no'"))
    with pytest.raises(UserError) as caught:
        rolloutrepo.read(tmp_path, "change-1")
    assert caught.value.problems[0].file == "waves/change-1/rollout.yaml"
    assert caught.value.problems[0].key == "paused"


def test_unknown_rollout_lists_the_known_ones(tmp_path: Path) -> None:
    rolloutrepo.write(tmp_path, fresh())
    with pytest.raises(UserError, match="known rollouts: change-1"):
        rolloutrepo.read(tmp_path, "other")
    with pytest.raises(UserError, match="not a valid rollout name"):
        rolloutrepo.read(tmp_path, "../etc")
