"""ApplicationSet fleets end to end: each change reaches exactly the clusters it should.

The fixture `argocd-appset-generators` (every cluster's path is the folder holding the sets)
is varied in memory; each row says which clusters receive something else after the edit.
"""

from __future__ import annotations

import pytest

from tests.testing.wiringkit import edit, plan_variant

FLEET = "argocd-appset-generators"
ALL = ["prod-eu-west-1", "prod-us-east-1", "staging-eu-west-1", "staging-us-east-1"]
GUESTBOOK = "bootstrap/appsets/guestbook.yaml"
PLATFORM = "bootstrap/appsets/platform.yaml"
CONFIG = "bootstrap/appsets/cluster-config.yaml"
INGRESS_KS = "platform/ingress/overlays/{}/kustomization.yaml"

CASES: list[tuple[str, dict[str, bytes | None], list[str]]] = [
    (
        "region overlay read through {{metadata.labels.region}}",
        {"apps/guestbook/overlays/us-east/kustomization.yaml": b"resources:\n- ../../base\n"},
        ["prod-us-east-1"],
    ),
    (
        "shared base of the guestbook: every production cluster",
        {
            "apps/guestbook/base/deployment.yaml": edit(
                FLEET, "apps/guestbook/base/deployment.yaml", "replicas: 1", "replicas: 2"
            )
        },
        ["prod-eu-west-1", "prod-us-east-1"],
    ),
    (
        "selector moved from production to staging: both sides change",
        {GUESTBOOK: edit(FLEET, GUESTBOOK, "environment: production", "environment: staging")},
        ALL,
    ),
    (
        "an ApplicationSet's fields: every cluster whose Argo CD holds the set",
        {GUESTBOOK: edit(FLEET, GUESTBOOK, "namespace: guestbook", "namespace: guestbook-v2")},
        ALL,
    ),
    (
        "a comment in an ApplicationSet generates the same Applications",
        {GUESTBOOK: edit(FLEET, GUESTBOOK, "# Production", "# All production")},
        [],
    ),
    (
        "matrix: a staging overlay of one component (Go template, index)",
        {
            INGRESS_KS.format("staging"): edit(
                FLEET, INGRESS_KS.format("staging"), "environment: staging", "environment: stg"
            )
        },
        ["staging-eu-west-1", "staging-us-east-1"],
    ),
    (
        "matrix: a new component directory matched by platform/*",
        {"platform/dns/overlays/production/kustomization.yaml": b"resources: []\n"},
        ["prod-eu-west-1", "prod-us-east-1"],
    ),
    (
        "matrix: the cluster generator narrowed to production",
        {PLATFORM: edit(FLEET, PLATFORM, "values: [staging, production]", "values: [production]")},
        ALL,
    ),
    (
        "git files: one cluster's config.json retargets its config to an unknown cluster",
        {
            "cluster-config/prod-us-east-1/config.json": edit(
                FLEET, "cluster-config/prod-us-east-1/config.json", "prod-us-east-1.k8s", "x.k8s"
            )
        },
        ["prod-us-east-1"],
    ),
    (
        "git files: one cluster's own manifests",
        {
            "cluster-config/staging-eu-west-1/manifests/identity.yaml": edit(
                FLEET,
                "cluster-config/staging-eu-west-1/manifests/identity.yaml",
                "cluster: staging-eu-west-1",
                "cluster: staging-eu-west-1-b",
            )
        },
        ["staging-eu-west-1"],
    ),
    (
        "git files: a config.json deleted removes that cluster's config Application",
        {"cluster-config/staging-us-east-1/config.json": None},
        ["staging-us-east-1"],
    ),
    (
        "ApplicationSet file deleted: every cluster holding it",
        {GUESTBOOK: None},
        ALL,
    ),
]


@pytest.mark.parametrize(("what", "edits", "expected"), CASES, ids=[c[0] for c in CASES])
def test_appset_change_reaches_exactly(
    what: str, edits: dict[str, bytes | None], expected: list[str]
) -> None:
    plan = plan_variant(FLEET, edits)
    assert sorted(plan.affected_names()) == expected, what
    assert not plan.violations, [v.message for v in plan.violations]
    assert not [w for w in plan.warnings if w.code == "unmodelled-wiring"]


def test_reason_names_the_application_set_chain() -> None:
    plan = plan_variant(
        FLEET, {"apps/guestbook/overlays/us-east/kustomization.yaml": b"resources:\n- ../../base\n"}
    )
    (affected,) = plan.affected
    chain = affected.reasons[0].chain
    assert chain[0].kind == "cluster"
    assert "ApplicationSet argocd/guestbook" in (chain[1].field or "")
    assert chain[1].ref == "apps/guestbook/overlays/us-east"


PULL_REQUESTS = b"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata:
  name: previews
  namespace: argocd
spec:
  generators:
  - pullRequest:
      github: {owner: example, repo: appset-fleet}
  template:
    metadata:
      name: 'preview-{{number}}'
    spec:
      project: default
      source:
        repoURL: https://github.com/example/appset-fleet.git
        path: 'previews/{{branch}}'
      destination:
        server: https://kubernetes.default.svc
"""


def test_a_generator_it_cannot_expand_is_unmodelled_and_never_silent() -> None:
    from tests.testing.wiringkit import base_files, plan_files

    before = {**base_files(FLEET), "bootstrap/appsets/previews.yaml": PULL_REQUESTS}
    after = {**before, "previews/fix-1/cm.yaml": b"apiVersion: v1\nkind: ConfigMap\n"}
    plan = plan_files(before, after)
    assert sorted(plan.affected_names()) == ALL  # every cluster holding the set
    assert {r.kind for a in plan.affected for r in a.reasons} == {"unmodelled"}
    (warning,) = [w for w in plan.warnings if w.code == "unmodelled-wiring"]
    assert "ApplicationSet argocd/previews" in warning.message
    assert "pullRequest generator is not expanded" in warning.message
    # a change elsewhere that a modelled path reaches does not drag the unmodelled set in
    other = {**before, "apps/guestbook/overlays/us-east/kustomization.yaml": b"resources: []\n"}
    assert plan_files(before, other).affected_names() == ["prod-us-east-1"]
