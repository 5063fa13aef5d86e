"""The rollout policy: the issue's exact file, durations, unknown keys, the default policy."""

from __future__ import annotations

import pytest

from planner.durations import duration_seconds
from planner.errors import UserError
from planner.inventory import parse_inventory
from planner.placement import place
from planner.policy import default_policy, load_policy, policy_yaml
from tests.testing.policies import ISSUE_POLICY as _ISSUE_POLICY_TEXT

ISSUE_POLICY = _ISSUE_POLICY_TEXT.encode()


def test_the_documented_policy_file_loads() -> None:
    policy = load_policy(ISSUE_POLICY, source="rollout.yaml")
    assert [w.name for w in policy.waves] == ["canary", "staging", "production"]
    production = policy.wave("production")
    assert production.max_clusters == 5 and production.group_by == "region"
    assert production.approval == "required"
    assert policy.wave("canary").bake_seconds == 3600


@pytest.mark.parametrize(
    ("text", "seconds"), [("30m", 1800), ("2h", 7200), ("1d", 86400), ("1h30m", 5400), ("45s", 45)]
)
def test_durations(text: str, seconds: int) -> None:
    assert duration_seconds(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "1.5h", "-1h"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ValueError, match="duration"):
        duration_seconds(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (b"waves:\n- name: a\n  selectr: {}\n", "waves[0].selectr: unknown key"),
        (b"waves:\n- name: a\n  selector: {}\n  bake: soon\n", "waves[0].bake"),
        (b"waves:\n- name: a\n  selector: {}\n  max_clusters: '5'\n", "waves[0].max_clusters"),
        (b"waves:\n- name: a\n- name: b\n  selector: {}\n", "needs a selector"),
        (b"waves: []\n", "at least 1"),
        (b"- name: a\n", "expected a mapping"),
        (b"waves:\n- {name: a, selector: {}}\n- {name: a, selector: {}}\n", "must be unique"),
        (b"waves:\n- {name: a, selector: {}}\ncolour: red\n", "colour: unknown key"),
        (
            b"waves:\n- name: a\n  selector: {matchExpressions: [{key: k, operator: Near}]}\n",
            "operator",
        ),
    ],
)
def test_policy_errors_name_the_key(text: bytes, expected: str) -> None:
    with pytest.raises(UserError) as info:
        load_policy(text, source="rollout.yaml")
    assert expected in str(info.value)
    assert str(info.value).startswith("rollout.yaml")


def test_default_policy_places_every_cluster() -> None:
    inventory = parse_inventory(
        {
            "c.yaml": b"""clusters:
- {name: dev-1, labels: {environment: dev, rollout.wave: canary}}
- {name: dev-2, labels: {environment: dev}}
- {name: stg-1, labels: {environment: staging}}
- {name: prod-1, labels: {environment: production, region: eu-west}}
- {name: odd-1, labels: {}}
"""
        },
        source="c.yaml",
    )
    waves = {n: p.wave for n, p in place(inventory, default_policy(inventory)).items()}
    assert waves == {
        "dev-1": "canary",
        "dev-2": "staging",
        "stg-1": "staging",
        "prod-1": "production",
        "odd-1": "production",
    }


def test_default_policy_uses_the_inventorys_prefixed_keys() -> None:
    inventory = parse_inventory(
        {"c.yaml": b"clusters:\n- {name: a, labels: {x.io/environment: dev, x.io/region: eu}}\n"},
        source="c.yaml",
    )
    policy = default_policy(inventory)
    assert place(inventory, policy)["a"].wave == "staging"
    assert policy.wave("production").group_by == "x.io/region"


def test_policy_init_output_round_trips() -> None:
    text = policy_yaml(default_policy())
    assert load_policy(text.encode(), source="x") == default_policy()
