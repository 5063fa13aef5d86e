"""User errors name the file, the key and the fix, and report every problem at once."""

from __future__ import annotations

import pytest

from planner.errors import Problem, ProblemCollector, UserError, validate_model
from planner.policy import RolloutPolicy


def test_problem_text() -> None:
    assert (
        str(Problem("bad", file="f.yaml", key="a.b", fix="do x")) == "f.yaml: a.b: bad (fix: do x)"
    )
    assert str(Problem("bad")) == "bad"


def test_collector_raises_every_problem() -> None:
    errors = ProblemCollector()
    errors.raise_if_any()
    errors.add("one", file="a")
    errors.add("two", file="b")
    with pytest.raises(UserError) as info:
        errors.raise_if_any()
    assert [p.message for p in info.value.problems] == ["one", "two"]


def test_validate_model_accepts_yaml_lists_and_names_unknown_keys() -> None:
    with pytest.raises(UserError) as info:
        validate_model(
            RolloutPolicy, {"waves": [{"name": "a", "selector": {}, "colour": 1}]}, file="p"
        )
    assert (
        str(info.value) == "p: waves[0].colour: unknown key (fix: remove it or check its spelling)"
    )
