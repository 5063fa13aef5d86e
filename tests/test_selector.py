"""Label selectors: parsed into data, evaluated with Kubernetes semantics, described back."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.errors import UserError
from planner.selector import LabelSelector, Requirement, parse_selector

LABELS = {"environment": "production", "region": "eu-west", "tier": "gold"}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("environment=production", True),
        ("environment==production", True),
        ("environment!=production", False),
        ("region in (eu-west, us-east)", True),
        ("region notin (eu-west)", False),
        ("tier", True),
        ("!tier", False),
        ("!canary", True),
        ("environment=production,region in (eu-west)", True),
        ("environment=production,region in (us-east)", False),
        ("missing!=x", True),
        ("", True),
    ],
)
def test_parse_and_match(text: str, matches: bool) -> None:
    assert parse_selector(text).matches(LABELS) is matches


@pytest.mark.parametrize("text", ["region in (eu-west", "=x", "a=b=c", "a in ()", "a=b,,c"])
def test_bad_selectors_are_user_errors(text: str) -> None:
    with pytest.raises(UserError):
        parse_selector(text)


def test_match_labels_and_expressions_combine() -> None:
    selector = LabelSelector.model_validate_json(
        '{"matchLabels": {"environment": "production"},'
        ' "matchExpressions": [{"key": "region", "operator": "In", "values": ["eu-west"]}]}'
    )
    assert selector.matches(LABELS)
    assert selector.describe() == "environment=production,region=eu-west"


def test_operator_value_rules() -> None:
    with pytest.raises(ValueError, match="needs at least one value"):
        Requirement(key="a", operator="In")
    with pytest.raises(ValueError, match="takes no values"):
        Requirement(key="a", operator="Exists", values=("x",))


def test_empty_selector_matches_everything() -> None:
    assert LabelSelector().matches({}) and LabelSelector().describe() == "every cluster"


keys = st.sampled_from(["environment", "region", "tier", "x.io/zone"])
values = st.sampled_from(["a", "b", "production", "eu-west"])


@given(st.dictionaries(keys, values), keys, st.lists(values, min_size=1, max_size=3))
def test_in_and_notin_are_complements(labels: dict[str, str], key: str, vals: list[str]) -> None:
    inside = Requirement(key=key, operator="In", values=tuple(vals))
    outside = Requirement(key=key, operator="NotIn", values=tuple(vals))
    assert inside.matches(labels) != outside.matches(labels)


@given(st.dictionaries(keys, values), st.dictionaries(keys, values, max_size=2))
def test_described_selector_parses_back_to_the_same_meaning(
    labels: dict[str, str], wanted: dict[str, str]
) -> None:
    selector = LabelSelector.model_validate({"matchLabels": wanted})
    text = selector.describe() if wanted else ""
    assert parse_selector(text).matches(labels) == selector.matches(labels)
