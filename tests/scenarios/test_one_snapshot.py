"""The inventory and the policy are read from the same snapshot: the revision being planned
(or validated), the working tree only when that is what is planned."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from typer.testing import CliRunner

from planner.cli import app
from planner.policy import load_policy
from tests.testing.fleetrepo import FleetRepo
from tests.testing.paths import DATA_DIR

runner = CliRunner()
POLICY = DATA_DIR / "rollout.yaml"


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def _commit_policy(repo: Path, text: str) -> str:
    (repo / "rollout.yaml").write_text(text)
    git = ["git", "-C", str(repo), "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "add", "rollout.yaml"], check=True, capture_output=True)
    subprocess.run([*git, "commit", "-qm", "policy"], check=True, capture_output=True)
    out = subprocess.run([*git, "rev-parse", "HEAD"], check=True, capture_output=True, text=True)
    return out.stdout.strip()


def _digest(text: str) -> str:
    return load_policy(text.encode(), source="rollout.yaml").digest()


def test_plan_reads_the_policy_of_the_head_revision(demo: FleetRepo) -> None:
    committed = POLICY.read_text()
    head = _commit_policy(demo.path, committed)
    edited = committed.replace("bake: 1h", "bake: 2h", 1)
    assert edited != committed
    (demo.path / "rollout.yaml").write_text(edited)  # uncommitted
    common = ("plan", "--repo", str(demo.path), "--base", demo.base, "--policy", "rollout.yaml")
    code, out, err = run(*common, "--head", head, "-f", "json")
    assert code == 0, err
    assert json.loads(out)["policy"]["digest"] == _digest(committed)
    code, out, err = run(*common, "--worktree", "-f", "json")
    assert code == 0, err
    assert json.loads(out)["policy"]["digest"] == _digest(edited)


def test_a_broken_policy_on_disk_does_not_break_a_committed_revision(demo: FleetRepo) -> None:
    head = _commit_policy(demo.path, POLICY.read_text())
    (demo.path / "rollout.yaml").write_text("waves: [unclosed\n")
    repo = ("--repo", str(demo.path), "--policy", "rollout.yaml")
    code, _, err = run("plan", *repo, "--base", demo.base, "--head", head, "-f", "json")
    assert code == 0, err
    code, _, err = run("validate", *repo, "--rev", head)
    assert code == 0, err
    code, _, err = run("validate", *repo)  # the files on disk: the broken policy
    assert code == 2 and "rollout.yaml" in err


def test_a_policy_not_in_the_revision_is_read_from_disk(demo: FleetRepo) -> None:
    (demo.path / "rollout.yaml").write_text(POLICY.read_text())  # never committed
    code, out, err = run(
        "plan",
        "--repo",
        str(demo.path),
        "--base",
        demo.base,
        "--head",
        demo.head,
        "--policy",
        "rollout.yaml",
        "-f",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["policy"]["digest"] == _digest(POLICY.read_text())
