"""`wave-planner init` on fixture fleets of every layout it knows.

For each fleet: the drafted inventory names exactly the hand-written clusters with the same
paths, its labels agree with the hand-written ones (and so with the inherited layers),
`validate` finds no violation with the drafts, and `plan` on the fleet's change affects the
same clusters as with the hand-written inventory.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import api
from planner.adapters import files
from planner.cli import app
from planner.discover import discover
from planner.guardrails import agrees
from planner.inventory import parse_inventory
from planner.snapshot import MemorySnapshot
from tests.testing.fleetrepo import FleetRepo

LAYOUTS = [
    "flux-tenancy-init",  # Flux bootstrap folders, tenants per environment
    "flux-multi-tenancy",  # the same layout with a tenant on another branch
    "realistic-flux-helm",  # Flux bootstrap folders, apps/<env> and infrastructure
    "flux-fleet",  # Flux, per-cluster folders with region/environment names
    "argocd-cluster-secrets",  # Argo CD cluster Secrets + identity ConfigMaps
    "argocd-app-of-apps",  # per-cluster Argo CD Application folders
    "realistic-argo-apps",  # Argo CD app-of-apps with clusters/<name> folders
    "fleet-bundles-init",  # Rancher Fleet bundles naming clusters
    "envs-overlays",  # plain envs/<env> overlays, one cluster each
]

runner = CliRunner()


def _drafted(built: FleetRepo, out: Path) -> tuple[Path, Path, api.InitResult]:
    result = api.init(api.InitRequest(repo=built.path, write=False))
    out.mkdir()
    inventory, policy = out / "clusters.yaml", out / "rollout.yaml"
    inventory.write_text(result.drafts["clusters.yaml"])
    policy.write_text(result.drafts["rollout.yaml"])
    return inventory, policy, result


def _check_fleet(built: FleetRepo, out: Path) -> None:
    inventory, policy, result = _drafted(built, out)
    hand = parse_inventory(
        files.read_yaml_inputs(built.path / "clusters.yaml", "x"), source="hand"
    ).by_name()
    drafted = parse_inventory(files.read_yaml_inputs(inventory, "x"), source="draft").by_name()
    assert sorted(drafted) == sorted(hand), "every cluster found, none invented"
    for name, cluster in drafted.items():
        assert cluster.gitops_path == hand[name].gitops_path, name
        for key in ("environment", "region", "compliance"):
            if key in cluster.labels and key in hand[name].labels:
                assert agrees(cluster.labels[key], hand[name].labels[key]), (name, key)
        if cluster.server and hand[name].server:
            assert cluster.server == hand[name].server
    checked = api.validate(api.ValidateRequest(repo=built.path, inventory=inventory, policy=policy))
    assert not checked.violations, checked.violations
    by_hand = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    by_draft = api.plan(
        api.PlanRequest(
            repo=built.path, base=built.base, head=built.head, inventory=inventory, policy=policy
        )
    )
    assert by_draft.affected_names() == by_hand.affected_names()
    assert result.written == []


@pytest.mark.parametrize("name", LAYOUTS)
def test_init_finds_the_hand_written_fleet(
    name: str, fleet: Callable[[str], FleetRepo], tmp_path: Path
) -> None:
    _check_fleet(fleet(name), tmp_path / "drafts")


def test_init_on_the_demo_fleet_reads_identity_and_layers(demo: FleetRepo, tmp_path: Path) -> None:
    _check_fleet(demo, tmp_path / "drafts")
    result = api.init(api.InitRequest(repo=demo.path, write=False))
    prod = next(c for c in result.discovery.clusters if c.name == "prod-eu-west-1")
    assert prod.labels == {"environment": "production", "region": "eu-west-1", "compliance": "gdpr"}
    assert "cluster-identity" in prod.label_sources["environment"]
    assert not prod.guesses


def test_guesses_are_marked_and_the_files_start_with_the_schema(
    fleet: Callable[[str], FleetRepo],
) -> None:
    result = api.init(api.InitRequest(repo=fleet("flux-fleet").path, write=False))
    text = result.drafts["clusters.yaml"]
    assert text.startswith(
        "# yaml-language-server: $schema=https://wave-planner.io/schemas/inventory.json\n"
    )
    assert "environment: production  # guess: from the cluster name" in text
    assert "# Flux bootstrap: clusters/prod-eu-west-1/flux-system/gotk-sync.yaml" in text
    assert result.drafts["rollout.yaml"].startswith(
        "# yaml-language-server: $schema=https://wave-planner.io/schemas/policy.json\n"
    )


def _snap(tree: dict[str, str]) -> MemorySnapshot:
    return MemorySnapshot({k: v.encode() for k, v in tree.items()})


KUSTOMIZATION = "resources: [cm.yaml]\n"
CM = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n"


@pytest.mark.parametrize(
    ("tree", "names"),
    [
        # a shared folder under clusters/ that the clusters build on is a layer
        (
            {
                "clusters/common/kustomization.yaml": KUSTOMIZATION,
                "clusters/common/cm.yaml": CM,
                "clusters/a/kustomization.yaml": "resources: [../common]\n",
                "clusters/b/kustomization.yaml": "resources: [../common]\n",
            },
            ["a", "b"],
        ),
        # clusters/<env>/<cluster> that build on their environment folder
        (
            {
                "clusters/prod/kustomization.yaml": KUSTOMIZATION,
                "clusters/prod/cm.yaml": CM,
                "clusters/prod/eu-1/kustomization.yaml": "resources: [..]\n",
                "clusters/prod/us-1/kustomization.yaml": "resources: [..]\n",
            },
            ["eu-1", "us-1"],
        ),
        # a folder inside a cluster folder that does not build on it is not a cluster
        (
            {
                "clusters/a/kustomization.yaml": KUSTOMIZATION,
                "clusters/a/cm.yaml": CM,
                "clusters/a/notes/old.yaml": CM,
            },
            ["a"],
        ),
        # selectors name no cluster: a Fleet bundle with only clusterSelector drafts nothing
        (
            {
                "app/fleet.yaml": "targetCustomizations:\n- name: t\n  clusterSelector:\n"
                "    matchLabels: {env: test}\n",
                "app/cm.yaml": CM,
            },
            [],
        ),
        # app overlays (apps/x/overlays/*) are not clusters
        ({"apps/web/overlays/dev/kustomization.yaml": KUSTOMIZATION}, []),
        # an Argo CD cluster Secret without a folder: its own folder, marked as a guess
        (
            {
                "argocd/c.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: c\n  labels:\n"
                "    argocd.argoproj.io/secret-type: cluster\n"
                "stringData: {name: edge-7, server: 'https://edge-7.example.com'}\n"
            },
            ["edge-7"],
        ),
    ],
)
def test_conservative_discovery(tree: dict[str, str], names: list[str]) -> None:
    found = discover(_snap(tree))
    assert [c.name for c in found.clusters] == names


def test_conflicting_sources_leave_the_label_out() -> None:
    tree = {
        "environments/staging/kustomization.yaml": KUSTOMIZATION,
        "environments/staging/cm.yaml": CM,
        "clusters/prod-1/kustomization.yaml": "resources: [../../environments/staging]\n"
        "configMapGenerator:\n- name: cluster-identity\n  literals: [ENVIRONMENT=production]\n",
    }
    found = discover(_snap(tree))
    (cluster,) = found.clusters
    assert "environment" not in cluster.labels
    assert any("environment left out" in n for n in found.notes)


def test_shared_servers_are_left_out() -> None:
    app = (
        "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: {name: %s}\n"
        "spec:\n  destination: {server: 'https://shared.example.com'}\n"
    )
    tree = {
        "clusters/a/app.yaml": app % "a",
        "clusters/b/app.yaml": app % "b",
    }
    found = discover(_snap(tree))
    assert [c.server for c in found.clusters] == [None, None]
    assert any("share it" in n for n in found.notes)


# ------------------------------------------------------------------------------ the command


def test_init_writes_then_refuses_to_overwrite(
    fleet: Callable[[str], FleetRepo],
) -> None:
    built = fleet("envs-overlays")
    (built.path / "clusters.yaml").unlink()
    result = runner.invoke(app, ["init", "--repo", str(built.path)])
    assert result.exit_code == 0, result.output
    assert "found 3 clusters" in result.stdout
    assert "environment=dev: inherits envs/dev" in result.stdout
    assert "wrote clusters.yaml" in result.stdout
    written = (built.path / "clusters.yaml").read_text()
    policy = (built.path / "rollout.yaml").read_text()
    assert "pattern: envs/*" in policy
    checked = runner.invoke(
        app, ["validate", "--repo", str(built.path), "--policy", str(built.path / "rollout.yaml")]
    )
    assert checked.exit_code == 0, checked.output
    again = runner.invoke(app, ["init", "--repo", str(built.path)])
    assert again.exit_code == 1
    assert "clusters.yaml and rollout.yaml already exist" in again.stderr
    assert (built.path / "clusters.yaml").read_text() == written


def test_init_dry_run_json_writes_nothing(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("fleet-bundles-init")
    result = runner.invoke(app, ["init", "--repo", str(built.path), "--dry-run", "-o", "json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [c["name"] for c in data["clusters"]] == ["edge-eu-1", "edge-us-1"]
    assert data["written"] == []
    assert set(data["drafts"]) == {"clusters.yaml", "rollout.yaml"}
    assert set(data) >= {"clusters", "skipped", "scopes", "notes", "written"}


def test_init_finds_nothing_exit_2(tmp_path: Path) -> None:
    (tmp_path / "README.md").write_text("not a fleet\n")
    result = runner.invoke(app, ["init", "--repo", str(tmp_path)])
    assert result.exit_code == 2
    assert "found no cluster" in result.stderr
    assert not (tmp_path / "clusters.yaml").exists()


def test_init_repo_from_the_environment(
    fleet: Callable[[str], FleetRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fleet("flux-tenancy-init")
    monkeypatch.setenv("WAVE_PLANNER_REPO", str(built.path))
    result = runner.invoke(app, ["init", "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "found 2 clusters" in result.stdout


def test_every_file_the_tool_writes_names_its_schema() -> None:
    from planner.schemas import schema, schema_url

    result = runner.invoke(app, ["policy", "init"])
    assert (
        result.stdout.splitlines()[0] == f"# yaml-language-server: $schema={schema_url('policy')}"
    )
    for name in ("inventory", "policy"):
        assert schema(name)["$id"] == schema_url(name)


def test_a_flux_bootstrap_of_the_whole_repository_is_reported_not_named() -> None:
    sync = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: flux-system}\nspec: {path: ./}\n"
    )
    found = discover(_snap({"flux-system/gotk-sync.yaml": sync, "app.yaml": CM}))
    assert found.clusters == []
    assert "whole repository" in found.skipped[0].reason


def test_a_flux_bootstrap_in_another_folder_name() -> None:
    sync = (
        "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
        "metadata: {name: flux-system}\nspec: {path: ./clusters/staging}\n"
    )
    tree = {
        "clusters/staging/flux-stage/gotk-sync.yaml": sync,
        "clusters/staging/apps.yaml": CM,
    }
    found = discover(_snap(tree))
    assert [(c.name, c.path) for c in found.clusters] == [("staging", "clusters/staging")]


def test_nested_flux_clusters_with_the_same_leaf_name_keep_both() -> None:
    def sync(path: str) -> str:
        return (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            f"metadata: {{name: flux-system}}\nspec: {{path: ./{path}}}\n"
        )

    tree = {
        "clusters/production/eu-west-1/flux-system/gotk-sync.yaml": sync(
            "clusters/production/eu-west-1"
        ),
        "clusters/staging/eu-west-1/flux-system/gotk-sync.yaml": sync("clusters/staging/eu-west-1"),
    }
    found = discover(_snap(tree))
    assert [c.name for c in found.clusters] == ["production-eu-west-1", "staging-eu-west-1"]
    assert found.clusters[0].labels["environment"] == "production"
