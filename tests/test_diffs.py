"""Diffs that mean what a pull request means: three dots, NUL-separated paths, safe inputs."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import api
from planner.cli import app
from tests.testing.fleetrepo import BASE_DATE, HEAD_DATE, _git

INVENTORY = """clusters:
- {name: dev-1, path: clusters/dev-1, labels: {environment: dev}}
- {name: prod-1, path: clusters/prod-1, labels: {environment: production}}
"""
FILES = {
    "clusters.yaml": INVENTORY,
    "base/kustomization.yaml": "resources: [ns.yaml]\n",
    "base/ns.yaml": "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n",
    "clusters/dev-1/kustomization.yaml": "resources: [../../base, cm.yaml]\n",
    "clusters/dev-1/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: dev}\n",
    "clusters/prod-1/kustomization.yaml": "resources: [../../base, cm.yaml]\n",
    "clusters/prod-1/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: prod}\n",
}


def _write(root: Path, files: dict[str, str]) -> None:
    for path, text in files.items():
        target = root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text)


def _commit(root: Path, message: str, date: str = HEAD_DATE) -> str:
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", message, date=date)
    return _git(root, "rev-parse", "HEAD").strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "fleet"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _write(root, FILES)
    _commit(root, "base", BASE_DATE)
    return root


def _plan(root: Path, *args: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, ["plan", "--repo", str(root), "-f", "json", *args])
    return result.exit_code, result.output


def test_base_is_a_branch_point_not_a_tip(repo: Path) -> None:
    """Work merged into main after the branch was cut is not part of the branch's plan."""
    _git(repo, "checkout", "-q", "-b", "feature")
    _write(repo, {"clusters/dev-1/cm.yaml": FILES["clusters/dev-1/cm.yaml"] + "data: {a: b}\n"})
    feature = _commit(repo, "feature: dev-1")
    _git(repo, "checkout", "-q", "main")
    _write(repo, {"clusters/prod-1/cm.yaml": FILES["clusters/prod-1/cm.yaml"] + "data: {x: y}\n"})
    main = _commit(repo, "main moved on: prod-1")
    code, out = _plan(repo, "--base", "main", "--head", "feature")
    assert code == 0, out
    plan = json.loads(out)
    assert [a["cluster"] for a in plan["affected"]] == ["dev-1"]
    merge_base = _git(repo, "merge-base", "main", "feature").strip()
    assert plan["range"] == {
        "mode": "three-dot",
        "base": main,
        "merge_base": merge_base,
        "head": feature,
    }
    assert plan["base"] == merge_base
    code, out = _plan(repo, "--base", "main", "--head", "feature", "--two-dot")
    two = json.loads(out)
    assert [a["cluster"] for a in two["affected"]] == ["dev-1", "prod-1"]
    assert two["range"]["mode"] == "two-dot" and two["range"]["merge_base"] is None


def test_empty_range_is_bad_input_that_says_how_to_name_the_base(repo: Path) -> None:
    code, out = _plan(repo, "--base", "HEAD", "--head", "HEAD")
    assert code == 2
    assert "empty" in out and "--base" in out and "HEAD~1" in out


def test_a_strange_file_name_hides_no_later_change(repo: Path) -> None:
    strange = 'clusters/dev-1/we"ird\tna\nme.yaml'
    _write(repo, {strange: "x: 1\n"})
    _write(repo, {"base/ns.yaml": FILES["base/ns.yaml"] + "# edited\n"})
    _commit(repo, "strange name and a base change")
    changes = api.plan(api.PlanRequest(repo=repo, base="HEAD~1", head="HEAD")).changed_files
    assert strange in changes and "base/ns.yaml" in changes
    code, out = _plan(repo, "--base", "HEAD~1")
    assert code == 0, out
    assert [a["cluster"] for a in json.loads(out)["affected"]] == ["dev-1", "prod-1"]


def test_renames_and_mode_changes_from_plumbing(repo: Path) -> None:
    _git(repo, "mv", "clusters/dev-1/cm.yaml", "clusters/dev-1/config.yaml")
    _write(repo, {"clusters/dev-1/kustomization.yaml": "resources: [../../base, config.yaml]\n"})
    os.chmod(repo / "base/ns.yaml", 0o755)
    _commit(repo, "rename and chmod")
    plan = api.plan(api.PlanRequest(repo=repo, base="HEAD~1", head="HEAD"))
    by_path = {c.path: c for c in plan.changes}
    assert by_path["clusters/dev-1/config.yaml"].old_path == "clusters/dev-1/cm.yaml"
    assert by_path["base/ns.yaml"].status == "mode-only"


@pytest.mark.parametrize("which", ["clusters.yaml", "rollout.yaml"])
def test_an_input_committed_as_a_link_out_of_the_repository_is_never_read(
    repo: Path, tmp_path: Path, which: str
) -> None:
    secret = tmp_path / "outside.yaml"
    secret.write_text(INVENTORY if which == "clusters.yaml" else "waves: []\n")
    if which == "clusters.yaml":
        (repo / "clusters.yaml").unlink()
    os.symlink(secret, repo / which)
    _write(repo, {"base/ns.yaml": FILES["base/ns.yaml"] + "# edited\n"})
    _commit(repo, "link")
    extra = ["--policy", "rollout.yaml"] if which == "rollout.yaml" else []
    result = CliRunner().invoke(
        app, ["plan", "--repo", str(repo), "--base", "HEAD~1", *extra], catch_exceptions=False
    )
    assert result.exit_code == 2, result.output
    assert "symbolic link" in result.output and which in result.output


def test_a_cluster_whose_path_is_gone_is_a_plan_violation(repo: Path) -> None:
    _write(repo, {"clusters.yaml": INVENTORY.replace("clusters/prod-1", "clusters/prod1")})
    _write(repo, {"clusters/dev-1/cm.yaml": FILES["clusters/dev-1/cm.yaml"] + "# dev\n"})
    _commit(repo, "typo in a path")
    code, out = _plan(repo, "--base", "HEAD~1")
    assert code == 1
    plan = json.loads(out)
    (missing,) = [v for v in plan["violations"] if v["code"] == "missing-path"]
    assert missing["cluster"] == "prod-1"
    assert "nearest existing folder: clusters" in missing["message"]
    assert "clusters/prod-1" in missing["fix"]


def test_an_unaffected_cluster_whose_path_is_missing_is_not_dropped(repo: Path) -> None:
    _write(repo, {"clusters.yaml": INVENTORY.replace("clusters/prod-1", "clusters/prod1")})
    _commit(repo, "typo in a path")
    _write(repo, {"clusters/dev-1/cm.yaml": FILES["clusters/dev-1/cm.yaml"] + "# dev\n"})
    _commit(repo, "dev change")
    code, out = _plan(repo, "--base", "HEAD~1")
    assert code == 1
    plan = json.loads(out)
    assert [a["cluster"] for a in plan["affected"]] == ["dev-1"]
    assert [v["cluster"] for v in plan["violations"] if v["code"] == "missing-path"] == ["prod-1"]


def test_worktree_changes_with_a_strange_untracked_name(repo: Path) -> None:
    strange = "clusters/dev-1/new\nfile.yaml"
    _write(repo, {strange: "x: 1\n", "base/ns.yaml": FILES["base/ns.yaml"] + "# wip\n"})
    plan = api.plan(api.PlanRequest(repo=repo, base="HEAD", worktree=True))
    assert strange in plan.changed_files and "base/ns.yaml" in plan.changed_files
    assert plan.range is not None and plan.range.mode == "worktree"
    assert plan.affected_names() == ["dev-1", "prod-1"]
