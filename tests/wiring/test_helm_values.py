"""Helm values files of this repository read by Argo CD Applications, end to end.

The fixture `argocd-multisource-values` is varied in memory: `$values/...` files through a
`ref:` source (plain Applications and an ApplicationSet), and a values file outside a local
chart's folder.
"""

from __future__ import annotations

import pytest

from tests.testing.wiringkit import edit, plan_variant

FLEET = "argocd-multisource-values"
ALL = ["dev-1", "prod-eu", "prod-us"]
APPSET = "argocd/nginx-appset.yaml"

CASES: list[tuple[str, dict[str, bytes | None], list[str]]] = [
    (
        "ApplicationSet $values file of one environment",
        {"values/nginx/dev.yaml": b"replicaCount: 2\n"},
        ["dev-1"],
    ),
    (
        "one cluster's own $values file",
        {"values/monitoring/prod-us.yaml": b"retention: 30d\n"},
        ["prod-us"],
    ),
    (
        "a $values file every cluster's Application lists",
        {"values/monitoring/common.yaml": b"alertmanager: {}\n"},
        ALL,
    ),
    (
        "values file outside the local chart's folder",
        {"values/podinfo-shared.yaml": b"ui: {color: red}\n"},
        ALL,
    ),
    ("a values file nobody reads", {"values/nginx/staging.yaml": b"replicaCount: 2\n"}, []),
    (
        "the ApplicationSet's values path template",
        {
            APPSET: edit(
                FLEET,
                APPSET,
                "values/nginx/{{.metadata.labels.env}}.yaml",
                "values/nginx/prod.yaml",
            )
        },
        ALL,  # the set is an object of every cluster that holds it
    ),
    (
        "the ref source moved to another repository: prod and dev lose this repository's values",
        {
            APPSET: edit(
                FLEET,
                APPSET,
                "      - repoURL: https://github.com/example/argo-values.git",
                "      - repoURL: https://github.com/example/other.git",
            )
        },
        ALL,
    ),
]


@pytest.mark.parametrize(("what", "edits", "expected"), CASES, ids=[c[0] for c in CASES])
def test_values_change_reaches_exactly(
    what: str, edits: dict[str, bytes | None], expected: list[str]
) -> None:
    plan = plan_variant(FLEET, edits)
    assert sorted(plan.affected_names()) == expected, what
    assert not plan.violations, [v.message for v in plan.violations]
