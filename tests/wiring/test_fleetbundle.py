"""Fleet bundle options chosen per cluster by fleet.yaml customizations."""

from __future__ import annotations

from typing import Any

import pytest

from planner.wiring.appset import ClusterInfo
from planner.wiring.fleetbundle import all_values_files, bundle_folders, select

DEV = ClusterInfo("dev-1", {"env": "dev"})
PROD = ClusterInfo("prod-1", {"env": "prod", "region": "eu"})

DOC: dict[str, Any] = {
    "namespace": "web",
    "helm": {"valuesFiles": ["values.yaml"]},
    "targetCustomizations": [
        {"name": "one", "clusterName": "prod-1", "helm": {"valuesFiles": ["prod-1.yaml"]}},
        {
            "name": "prod",
            "clusterSelector": {"matchLabels": {"env": "prod"}},
            "kustomize": {"dir": "overlays/prod"},
        },
        {
            "name": "dev",
            "clusterSelector": {"matchLabels": {"env": "dev"}},
            "yaml": {"overlays": ["small"]},
        },
    ],
}


def test_first_matching_customization_wins() -> None:
    sel = select(DOC, "b", PROD)
    assert sel.chosen == ["one"]
    assert sel.values_files == ["b/prod-1.yaml", "b/values.yaml"]
    assert sel.kustomize_dir is None
    dev = select(DOC, "b", DEV)
    assert dev.chosen == ["dev"] and dev.overlays == ["b/overlays/small"]


def test_older_targets_spelling_and_kustomize_dir() -> None:
    doc = {
        "targets": [
            {
                "name": "p",
                "clusterSelector": {"matchLabels": {"env": "prod"}},
                "kustomize": {"dir": "o/p"},
            }
        ]
    }
    assert select(doc, "b", PROD).kustomize_dir == "b/o/p"
    assert select(doc, "b", DEV).kustomize_dir is None


def test_override_targets_limit_who_gets_the_bundle() -> None:
    doc = {
        "overrideTargets": True,
        "targets": [{"clusterSelector": {"matchLabels": {"env": "prod"}}}],
    }
    assert select(doc, "b", PROD).deployed
    assert not select(doc, "b", DEV).deployed


def test_do_not_deploy() -> None:
    doc = {"targetCustomizations": [{"clusterName": "dev-1", "doNotDeploy": True}]}
    assert not select(doc, "b", DEV).deployed and select(doc, "b", PROD).deployed


def test_cluster_group_is_uncertain_so_both_options_are_kept() -> None:
    doc = {
        "targetCustomizations": [
            {"name": "g", "clusterGroup": "edge", "kustomize": {"dir": "edge"}},
            {"name": "all", "clusterSelector": {}, "helm": {"valuesFiles": ["v.yaml"]}},
        ]
    }
    sel = select(doc, "b", DEV)
    assert sel.chosen == ["g", "all"]
    assert sel.kustomize_dir == "b/edge" and sel.values_files == ["b/v.yaml"]
    assert sel.unmodelled and "cluster group" in sel.unmodelled[0]


@pytest.mark.parametrize(
    ("change", "dev_changes", "prod_changes"),
    [
        ({"namespace": "api"}, True, True),
        ({"targetCustomizations": DOC["targetCustomizations"][:2]}, True, False),
    ],
)
def test_fingerprint_changes_only_for_the_clusters_whose_options_change(
    change: dict[str, Any], dev_changes: bool, prod_changes: bool
) -> None:
    other = {**DOC, **change}
    assert (select(DOC, "b", DEV).fingerprint != select(other, "b", DEV).fingerprint) is dev_changes
    assert (
        select(DOC, "b", PROD).fingerprint != select(other, "b", PROD).fingerprint
    ) is prod_changes


def test_helpers() -> None:
    assert all_values_files(DOC, "b") == {"b/values.yaml", "b/prod-1.yaml"}
    files = ["x/fleet.yaml", "x/y/fleet.yaml", "z/fleet.yml", "x/a.yaml"]
    assert bundle_folders(files, "x") == ["x", "x/y"]
    assert bundle_folders(files, ".") == ["x", "x/y", "z"]


def test_a_fleet_gitrepo_object_is_reported_unmodelled() -> None:
    from planner.wiring.scanner import scan_documents

    doc = {
        "apiVersion": "fleet.cattle.io/v1alpha1",
        "kind": "GitRepo",
        "metadata": {"name": "apps", "namespace": "fleet-default"},
        "spec": {"repo": "https://github.com/example/fleet", "paths": ["multi-cluster/helm"]},
    }
    (note,) = scan_documents([doc]).unmodelled
    assert note.tag == "GitRepo fleet-default/apps"
    assert note.paths == ("multi-cluster/helm",)
