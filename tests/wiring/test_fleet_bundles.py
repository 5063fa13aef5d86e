"""Rancher Fleet bundles end to end: each change reaches exactly the clusters it should.

The fixture `fleet-bundles` (three bundles under the clusters' path `fleet`) is varied in
memory; each row says which clusters deploy something else after the edit.
"""

from __future__ import annotations

import pytest

from tests.testing.wiringkit import edit, plan_variant

FLEET = "fleet-bundles"
ALL = ["dev-1", "prod-eu", "prod-us", "test-1"]
KUST = "fleet/guestbook-kustomize"
MAN = "fleet/guestbook-manifests"
HELM = "fleet/guestbook-helm"

CASES: list[tuple[str, dict[str, bytes | None], list[str]]] = [
    (
        "kustomize.dir of one environment",
        {f"{KUST}/overlays/test/kustomization.yaml": b"resources:\n- ../../base\n"},
        ["test-1"],
    ),
    (
        "the base every kustomize overlay reads",
        {f"{KUST}/base/frontend.yaml": edit(FLEET, f"{KUST}/base/frontend.yaml", "v4", "v5")},
        ALL,
    ),
    (
        "fleet.yaml: one customization's dir",
        {
            f"{KUST}/fleet.yaml": edit(
                FLEET, f"{KUST}/fleet.yaml", "dir: overlays/test", "dir: overlays/dev"
            )
        },
        ["test-1"],
    ),
    (
        "fleet.yaml: top-level namespace reaches every cluster",
        {
            f"{KUST}/fleet.yaml": edit(
                FLEET, f"{KUST}/fleet.yaml", "namespace: guestbook-kustomize", "namespace: gb"
            )
        },
        ALL,
    ),
    (
        "fleet.yaml: a comment changes nothing",
        {f"{KUST}/fleet.yaml": edit(FLEET, f"{KUST}/fleet.yaml", "# One", "# Exactly one")},
        [],
    ),
    (
        "manifests bundle: a plain manifest",
        {
            f"{MAN}/frontend-service.yaml": edit(
                FLEET, f"{MAN}/frontend-service.yaml", "port: 80", "port: 8080"
            )
        },
        ALL,
    ),
    (
        "manifests bundle: an overlay only prod and test select",
        {f"{MAN}/overlays/scale3/frontend-deployment_patch.yaml": b"spec:\n  replicas: 4\n"},
        ["prod-eu", "prod-us", "test-1"],
    ),
    (
        "manifests bundle: the dev-only overlay",
        {f"{MAN}/overlays/noreplication/redis-follower_patch.yaml": b"metadata:\n  name: off\n"},
        ["dev-1"],
    ),
    (
        "manifests bundle: a new manifest file",
        {
            f"{MAN}/redis-leader.yaml": b"apiVersion: v1\nkind: Service\nmetadata:\n  name: redis-leader\n"
        },
        ALL,
    ),
    (
        "helm: the values file picked by clusterName",
        {f"{HELM}/values/prod-us.yaml": b"replicas: 6\n"},
        ["prod-us"],
    ),
    (
        "helm: the values file of the label customization (prod-us matched first elsewhere)",
        {f"{HELM}/values/prod.yaml": b"replicas: 4\n"},
        ["prod-eu"],
    ),
    (
        "helm: the chart itself reaches every cluster",
        {f"{HELM}/values.yaml": edit(FLEET, f"{HELM}/values.yaml", "replicas: 1", "replicas: 2")},
        ALL,
    ),
    (
        "fleet.yaml: the clusterName customization removed, prod-us falls to prod",
        {
            f"{HELM}/fleet.yaml": edit(
                FLEET, f"{HELM}/fleet.yaml", "clusterName: prod-us", "clusterName: prod-xx"
            )
        },
        ["prod-us"],
    ),
]


@pytest.mark.parametrize(("what", "edits", "expected"), CASES, ids=[c[0] for c in CASES])
def test_bundle_change_reaches_exactly(
    what: str, edits: dict[str, bytes | None], expected: list[str]
) -> None:
    plan = plan_variant(FLEET, edits)
    assert sorted(plan.affected_names()) == expected, what
    assert not plan.violations, [v.message for v in plan.violations]


def test_bundle_reason_chain_ends_at_fleet_yaml() -> None:
    plan = plan_variant(
        FLEET,
        {
            f"{KUST}/fleet.yaml": edit(
                FLEET, f"{KUST}/fleet.yaml", "dir: overlays/test", "dir: overlays/dev"
            )
        },
    )
    (affected,) = plan.affected
    reason = affected.reasons[0]
    assert reason.layer == KUST
    assert [link.path for link in reason.chain] == ["fleet/ (as test-1)", f"{KUST}/fleet.yaml"]
