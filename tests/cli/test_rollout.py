"""`wave-planner rollout ...` end to end on a generated fleet (a real git repository).

The fleet: canary, staging and production clusters in three regions; the change edits the
eu-west and us-east region layers, so the ap-south clusters are members of every wave but
unaffected. The policy is the documented `rollout.yaml` (canary 1h bake, staging 1h bake,
production in steps of at most 5 grouped by region, approval required). After every command
the manifests under waves/<name>/ validate strictly against the vendored CRD schemas and pin
exactly the revision the rollout's state gives each cluster; a refused command changes no
byte.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from tests.testing.fleetrepo import FleetRepo, build_fleet_repo
from tests.testing.paths import SCHEMAS_DIR
from tests.testing.rolloutfleet import (
    CLUSTERS,
    POLICY,
    STEPS,
    Run,
    _configmap,
    git,
    pinned,
    start_args,
    tree_bytes,
    write_fleet,
)

SCHEMAS = SCHEMAS_DIR / "validate.py"
_spec = importlib.util.spec_from_file_location("crd_validate", SCHEMAS)
assert _spec is not None
assert _spec.loader is not None
crd_validate = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(crd_validate)


@pytest.fixture
def fleet_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> FleetRepo:
    write_fleet(tmp_path / "src")
    built = build_fleet_repo(tmp_path / "src", tmp_path / "fleet")
    git(built.path, "config", "user.name", "Release Manager")
    git(built.path, "config", "user.email", "rm@example.com")
    git(built.path, "config", "commit.gpgsign", "false")
    git(built.path, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    return built


@pytest.fixture
def run(fleet_repo: FleetRepo) -> Run:
    """Run `wave-planner rollout ...` at a time (minutes after 2024-01-03T09:00:00Z)."""
    runner = CliRunner()

    def invoke(*args: str, minute: int = 0, code: int = 0) -> Any:
        hours, minutes = divmod(minute, 60)
        now = f"2024-01-03T{9 + hours:02d}:{minutes:02d}:00Z"
        result = runner.invoke(
            app, ["rollout", *args, "--repo", str(fleet_repo.path)], env={"WAVE_PLANNER_NOW": now}
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return invoke


_VALID: set[tuple[str, bytes]] = set()  # (file name, bytes) found valid in this run


def check_manifests(repo: FleetRepo, name: str, target: str, released: set[str]) -> None:
    """Valid against the CRD schemas (strict) and pinned exactly by the pinning rule.

    (A file whose name and bytes were found valid before is not validated again: the
    result depends on nothing else.)
    """
    folder = repo.path / "waves" / name / target
    for path in sorted(folder.rglob("*.yaml")):
        data = path.read_bytes()
        if (path.name, data) in _VALID:
            continue
        for doc in yaml.safe_load_all(data):
            if isinstance(doc, dict) and "apiVersion" in doc and "kind" in doc:
                errors = crd_validate.validate_documents([doc], filename=path.name, strict=True)
                assert errors == [], errors
        _VALID.add((path.name, data))
    expected = dict.fromkeys(CLUSTERS, repo.head)
    for step, clusters in STEPS.items():
        for cluster in clusters:
            expected[cluster] = repo.head if step in released else repo.base
    assert pinned(folder, target) == expected


def check_only_step_changed(
    before: dict[str, bytes], after: dict[str, bytes], name: str, clusters: list[str]
) -> None:
    """An advance rewrites the state file and the step's clusters' elements, nothing else.

    (Flux's per-wave `.paths` lists also carry a `# released: K/N steps` comment line.)
    """
    changed = sorted(p for p in after if before.get(p) != after[p])
    assert f"waves/{name}/rollout.yaml" in changed
    for path in changed:
        if path.endswith("rollout.yaml"):
            continue
        old, new = before[path].decode().splitlines(), after[path].decode().splitlines()
        assert len(old) == len(new), path
        edits = [b for a, b in zip(old, new, strict=True) if a != b]
        if path.endswith(".paths"):
            edits = [b for b in edits if not b.startswith("# released: ")]
        if not edits:
            continue
        assert all("revision: " in b or "commit: " in b or "\t" in b for b in edits), edits
        assert all(any(c in b for c in clusters) or "\t" not in b for b in edits), edits
        assert any(c in after[path].decode() for c in clusters), path
    for folder in (f"waves/{name}/", "waves/fleet/"):  # the rollout's and the fleet view
        syncs = [p for p in changed if p.startswith(folder) and p.endswith("sync.yaml")]
        assert len(syncs) in (0, len(clusters))


def status(run: Run, name: str, minute: int = 0, code: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(
        run("status", name, "--format", "json", minute=minute, code=code).stdout
    )
    return data


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_a_rollout_end_to_end(fleet_repo: FleetRepo, run: Run, target: str) -> None:
    repo, name = fleet_repo, "region-settings"
    run(*start_args(repo, name, repo.base, repo.head, target))
    check_manifests(repo, name, target, set())
    first = status(run, name)
    assert {k: first[k] for k in ("name", "state", "base", "head")} == {
        "name": name, "state": "pending", "base": repo.base, "head": repo.head,
    }  # fmt: skip
    assert [(s["name"], s["clusters"], s["state"]) for s in first["steps"]] == [
        (step, clusters, "pending") for step, clusters in STEPS.items()
    ]

    # the canary: only its clusters' elements change
    before = tree_bytes(repo.path)
    run("advance", name, minute=5)
    check_manifests(repo, name, target, {"canary"})
    check_only_step_changed(before, tree_bytes(repo.path), name, STEPS["canary"])
    # inside the bake time: refused, with the time left, and not one byte changed
    before = tree_bytes(repo.path)
    refused = run("advance", name, minute=40, code=1)
    assert "canary is baking" in refused.stderr
    assert "time left: 25m" in refused.stderr
    assert tree_bytes(repo.path) == before
    # after it
    run("advance", name, minute=65)
    check_manifests(repo, name, target, {"canary", "staging"})

    # an approval-gated step: refused, then approved (the approver is recorded)
    before = tree_bytes(repo.path)
    refused = run("advance", name, minute=130, code=1)
    assert "needs approval" in refused.stderr
    assert "--approve --by" in refused.stderr
    assert tree_bytes(repo.path) == before
    run("advance", name, "--approve", "--by", "alice", minute=130)
    check_manifests(repo, name, target, {"canary", "staging", "production-1"})
    now = status(run, name, minute=131)
    prod = now["steps"][2]
    assert (prod["state"], prod["approved_by"], prod["released_at"]) == (
        "released", "alice", "2024-01-03T11:10:00Z",
    )  # fmt: skip
    assert now["history"][-1]["actor"] == "alice"
    assert now["state"] == "in-progress"

    # a second rollout touching the same clusters is refused, naming them
    (repo.path / "regions" / "us-east" / "settings.yaml").write_text(
        _configmap("region-us-east", "v3")
    )
    git(repo.path, "commit", "-qam", "us-east v3")
    head2 = git(repo.path, "rev-parse", "HEAD").strip()
    before = tree_bytes(repo.path)
    refused = run(*start_args(repo, "second", repo.head, head2, target), code=1)
    assert f"rollout {name} is still active on" in refused.stderr
    assert "prod-us-east-1, prod-us-east-2, prod-us-east-3" in refused.stderr
    assert tree_bytes(repo.path) == before

    # rollback one step, then everything
    run("rollback", name, "--step", "production-1", minute=140)
    check_manifests(repo, name, target, {"canary", "staging"})
    run("rollback", name, minute=141)
    check_manifests(repo, name, target, set())
    final = status(run, name, minute=142)
    assert final["state"] == "rolled-back"
    assert [s["state"] for s in final["steps"]] == [
        "rolled-back", "rolled-back", "rolled-back", "pending",
    ]  # fmt: skip
    assert [h["action"] for h in final["history"]] == [
        "start", "advance", "advance", "advance", "rollback", "rollback",
    ]  # fmt: skip
    # the finished rollout no longer holds its clusters
    run(*start_args(repo, "second", repo.head, head2, target), minute=150)


def test_advance_commit_pause_resume_and_force(fleet_repo: FleetRepo, run: Run) -> None:
    repo, name = fleet_repo, "region-settings"
    run(*start_args(repo, name, repo.base, repo.head, "argocd"), "--commit")
    assert git(repo.path, "status", "--porcelain") == ""
    run("advance", name, "--commit", minute=5)
    message = git(repo.path, "log", "-1", "--format=%B")
    assert message.startswith(f"rollout {name}: release canary (2 clusters) to {repo.head[:12]}")
    assert "Actor: Release Manager" in message
    assert git(repo.path, "status", "--porcelain") == ""

    run("pause", name, minute=6)
    refused = run("advance", name, "--force", "--reason", "x", minute=10, code=1)
    assert "paused" in refused.stderr
    run("resume", name, minute=11)
    forced = run("advance", name, "--force", "--reason", "CVE-2026-1234", minute=30)
    assert "forced past bake: CVE-2026-1234" in forced.stdout
    data = status(run, name, minute=31)
    assert data["steps"][1]["forced_reason"] == "CVE-2026-1234"
    assert (data["next"]["gate"], data["next"]["seconds_left"]) == ("bake", 59 * 60)
    table = run("status", name, minute=31).stdout
    assert "next: production-1, held by bake" in table
    assert "(time left 59m)" in table
    markdown = run("status", name, "--format", "markdown", minute=31).stdout
    assert "```mermaid\ntimeline" in markdown
    assert "advance staging by Release Manager" in markdown
    listing = run("list", minute=31).stdout
    assert name in listing
    assert "2/4" in listing


def test_usage_errors_exit_2(fleet_repo: FleetRepo, run: Run) -> None:
    repo, name = fleet_repo, "region-settings"
    run(*start_args(repo, name, repo.base, repo.head, "argocd"))
    assert "--by" in run("advance", name, "--approve", code=2).stderr
    assert "--reason" in run("advance", name, "--force", code=2).stderr
    assert "no rollout named" in run("status", "nope", code=2).stderr
    assert "already exists" in run(*start_args(repo, name, repo.base, repo.head, "flux"),
                                   code=2).stderr  # fmt: skip
    assert (
        "not a valid rollout name"
        in run(*start_args(repo, "Bad_Name", repo.base, repo.head, "flux"), code=2).stderr
    )


def test_drift_is_detected_and_refused(fleet_repo: FleetRepo, run: Run) -> None:
    repo, name = fleet_repo, "region-settings"
    run(*start_args(repo, name, repo.base, repo.head, "argocd"))
    run("advance", name, minute=5)
    inventory = repo.path / "clusters.yaml"
    original = inventory.read_bytes()
    data = yaml.safe_load(original)
    data["clusters"] = [c for c in data["clusters"] if c["name"] != "prod-eu-west-2"]
    inventory.write_text(yaml.safe_dump(data, sort_keys=False))
    shown = status(run, name, minute=90, code=1)
    assert (
        "cluster prod-eu-west-2 (an affected cluster) was removed from the inventory"
        in (shown["drift"])
    )
    before = tree_bytes(repo.path)
    refused = run("advance", name, minute=90, code=1)
    assert "no longer matches the repository" in refused.stderr
    assert "the inventory changed" in refused.stderr
    assert tree_bytes(repo.path) == before
    assert (
        "a whole `rollback` still works"
        in run("rollback", name, "--step", "canary", minute=91, code=1).stderr
    )
    inventory.write_bytes(original)
    (repo.path / "rollout.yaml").write_text(POLICY.replace("max_clusters: 5", "max_clusters: 1"))
    refused = run("advance", name, minute=90, code=1)
    assert "the policy changed" in refused.stderr
    assert "the plan has a new step production-3" in refused.stderr
    (repo.path / "rollout.yaml").write_text(POLICY)
    run("advance", name, minute=90)
    check_manifests(repo, name, "argocd", {"canary", "staging"})
