"""The reference incident, end to end: validate and plan catch the mislabeled prod-eu-west-2.

prod-eu-west-2 was registered with labels copied from a US cluster (region=us-east) while its
folder inherits regions/eu-west and its `cluster-identity` ConfigMap says REGION=eu-west-2.
`validate` must fail naming the cluster and both regions; the corrected fleet must pass; a plan
of a change reaching the cluster must carry the violation. The fleet is also rebuilt in the
other shapes people write it in: identity as a plain ConfigMap manifest instead of a
configMapGenerator, prefixed label keys (platform.example.com/region), a plain folder that is
not a git repository, and with or without a policy file.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from tests.testing.fleetrepo import SCENARIOS_DIR, FleetRepo, build_fleet_repo

PREFIX = "platform.example.com/"
ROLE_KEYS = ("environment", "region", "compliance", "rollout.wave")


def run(*args: str) -> Any:
    return CliRunner().invoke(app, list(args))


def validate(repo: Path, *extra: str) -> Any:
    return run("validate", "--repo", str(repo), "--inventory", str(repo / "clusters.yaml"), *extra)


def assert_names_the_incident(output: str) -> None:
    assert "prod-eu-west-2" in output
    assert "us-east" in output
    assert "eu-west" in output


# --------------------------------------------------------------- the fixture fleets


@pytest.mark.parametrize("fmt", ["table", "json", "markdown"])
def test_incident_fails_validate_naming_the_cluster_and_both_regions(
    fleet: Callable[[str], FleetRepo], fmt: str
) -> None:
    built = fleet("incident")
    result = validate(built.path, "--format", fmt)
    assert result.exit_code == 1, result.output
    assert_names_the_incident(result.output)
    if fmt == "json":
        data = json.loads(result.output)
        assert data["ok"] is False
        mismatches = [v for v in data["violations"] if v["code"] == "identity-mismatch"]
        assert {v["cluster"] for v in mismatches} == {"prod-eu-west-2"}
        layer = next(v for v in mismatches if v["file"] == "regions/eu-west")
        assert layer["values"] == {
            "inventory.region": "us-east",
            "layer regions/eu-west": "eu-west",
        }


@pytest.mark.parametrize("side", ["base", "head"])
def test_incident_fails_at_both_commits(fleet: Callable[[str], FleetRepo], side: str) -> None:
    built = fleet("incident")
    result = validate(built.path, "--rev", getattr(built, side))
    assert result.exit_code == 1, result.output
    assert_names_the_incident(result.output)


@pytest.mark.parametrize("side", ["base", "head"])
def test_incident_fixed_passes_even_strict(fleet: Callable[[str], FleetRepo], side: str) -> None:
    built = fleet("incident-fixed")
    for extra in ((), ("--strict",)):
        result = validate(built.path, "--rev", getattr(built, side), *extra)
        assert result.exit_code == 0, result.output
        assert result.output.startswith("ok: 0 violation(s)")


def test_plan_of_a_change_reaching_prod_eu_west_2_carries_the_violation(
    fleet: Callable[[str], FleetRepo],
) -> None:
    built = fleet("incident")
    args = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    result = run(*args, "--format", "json")
    assert result.exit_code == 1, result.output
    plan = json.loads(result.output)
    assert "prod-eu-west-2" in [a["cluster"] for a in plan["affected"]]
    ours = [v for v in plan["violations"] if v["cluster"] == "prod-eu-west-2"]
    assert ours
    assert any("us-east" in v["message"] and "eu-west" in v["message"] for v in ours)
    table = run(*args)
    assert table.exit_code == 1
    assert "identity-mismatch" in table.output


def test_plan_of_the_fixed_fleet_has_no_violation(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("incident-fixed")
    result = run(
        "plan", "--repo", str(built.path), "--base", built.base, "--head", built.head, "-f", "json"
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["violations"] == []


# ---------------------------------------------------------------------- the variants


def _as_manifest(root: Path) -> None:
    """Move each cluster-identity configMapGenerator into a plain ConfigMap manifest."""
    for kfile in sorted((root / "clusters").glob("*/kustomization.yaml")):
        doc = yaml.safe_load(kfile.read_text())
        generators = doc.pop("configMapGenerator", [])
        identity = next(g for g in generators if g["name"] == "cluster-identity")
        others = [g for g in generators if g["name"] != "cluster-identity"]
        if others:
            doc["configMapGenerator"] = others
        doc.pop("generatorOptions", None)
        data = dict(item.split("=", 1) for item in identity["literals"])
        manifest = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": {"name": "cluster-identity", "namespace": "kube-system"},
            "data": data,
        }
        (kfile.parent / "cluster-identity.yaml").write_text(yaml.safe_dump(manifest))
        doc["resources"] = [*doc.get("resources", []), "cluster-identity.yaml"]
        kfile.write_text(yaml.safe_dump(doc, sort_keys=False))


def _prefixed(root: Path) -> None:
    inventory = yaml.safe_load((root / "clusters.yaml").read_text())
    for cluster in inventory["clusters"]:
        cluster["labels"] = {
            (PREFIX + k if k in ROLE_KEYS else k): v for k, v in cluster["labels"].items()
        }
    (root / "clusters.yaml").write_text(yaml.safe_dump(inventory, sort_keys=False))


def _with_policy(root: Path) -> None:
    result = run("policy", "init", "--inventory", str(root / "clusters.yaml"))
    assert result.exit_code == 0, result.output
    (root / "rollout.yaml").write_text(result.output)


VARIANTS: dict[str, tuple[Callable[[Path], None], ...]] = {
    "generator": (),
    "manifest": (_as_manifest,),
    "prefixed": (_prefixed,),
    "manifest-prefixed": (_as_manifest, _prefixed),
    "generator-prefixed-policy": (_prefixed, _with_policy),
}


def _variant_fleet(name: str, variant: str, dest: Path, *, git: bool) -> Path:
    tree = dest / "tree"
    shutil.copytree(SCENARIOS_DIR / name / "base", tree)
    for transform in VARIANTS[variant]:
        transform(tree)
    if not git:
        return tree
    fixture = dest / "fixture"
    shutil.copytree(tree, fixture / "base")
    return build_fleet_repo(fixture, dest / "repo").path


@pytest.mark.parametrize("git", [True, False], ids=["git", "plain-folder"])
@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_incident_variants(variant: str, git: bool, tmp_path: Path) -> None:
    broken = _variant_fleet("incident", variant, tmp_path / "incident", git=git)
    fixed = _variant_fleet("incident-fixed", variant, tmp_path / "fixed", git=git)
    policy = ("--policy", str(broken / "rollout.yaml")) if "policy" in variant else ()
    result = validate(broken, *policy)
    assert result.exit_code == 1, result.output
    assert_names_the_incident(result.output)
    assert "identity-mismatch" in result.output
    data = json.loads(validate(broken, *policy, "--format", "json").output)
    files = {v["file"] for v in data["violations"] if v["cluster"] == "prod-eu-west-2"}
    identity = "cluster-identity.yaml" if "manifest" in variant else "kustomization.yaml"
    assert files == {"regions/eu-west", f"clusters/prod-eu-west-2/{identity}"}
    policy = ("--policy", str(fixed / "rollout.yaml")) if "policy" in variant else ()
    result = validate(fixed, *policy, "--strict")
    assert result.exit_code == 0, result.output
