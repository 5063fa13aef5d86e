"""Tampering and confinement: a state file, a manifest of generated files or an output
folder that says something it must not is refused, naming the exact field, and nothing is
written or deleted."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner.adapters.files import MANIFEST
from planner.cli import app
from tests.testing import rolloutfleet
from tests.testing.fleetrepo import FleetRepo
from tests.testing.rolloutfleet import NAME, Run, git, started_fleet, tree_bytes

fleet_repo = rolloutfleet.fleet_repo  # the fixtures
run = rolloutfleet.run

STATE = Path("waves") / NAME / "rollout.yaml"


def edit_state(repo: FleetRepo, change: Any) -> None:
    path = repo.path / STATE
    data = yaml.safe_load(path.read_text())
    change(data)
    path.write_text(yaml.safe_dump(data, sort_keys=False))


def refused_naming(run: Run, repo: FleetRepo, key: str, *args: str, minute: int = 200) -> str:
    """Every command on the tampered rollout is refused naming `key`; nothing changes."""
    before = tree_bytes(repo.path)
    out = ""
    for command in (("advance", NAME, "--approve", "--by", "alice", *args), ("status", NAME)):
        result = run(*command, minute=minute, code=2)
        assert f"{STATE.as_posix()}: {key}: " in result.stderr, result.stderr
        out = result.stderr
    assert tree_bytes(repo.path) == before
    return out


@pytest.fixture
def started(fleet_repo: FleetRepo, tmp_path: Path) -> FleetRepo:
    """The fleet with the rollout started and its canary released (built once, copied)."""
    shutil.rmtree(fleet_repo.path)
    return started_fleet(tmp_path / "started", fleet_repo.path, "argocd")


# ------------------------------------------------------------------ gates from the policy


@pytest.mark.parametrize(
    ("key", "change"),
    [
        ("steps[2].approval", lambda d: d["steps"][2].update(approval="none")),
        ("steps[0].bake", lambda d: d["steps"][0].update(bake=None)),
        ("steps[1].bake", lambda d: d["steps"][1].update(bake="1s")),
        ("steps[2].clusters", lambda d: d["steps"][2].update(clusters=["prod-eu-west-1"])),
        ("steps[0].released_at", lambda d: d["steps"][0].update(released_at=None)),
        (
            "steps[1].state",
            lambda d: d["steps"][1].update(state="released", released_at="2024-01-03T09:06:00Z"),
        ),
        ("history[1].at", lambda d: d["history"][1].update(at="2024-01-03T08:00:00Z")),
        ("paused", lambda d: d.update(paused=True)),
        ("name", lambda d: d.update(name="another")),
        ("inputs.inventory", lambda d: d["inputs"].update(inventory="/etc/passwd")),
        ("inputs.inventory", lambda d: d["inputs"].update(inventory="../outside.yaml")),
        ("inputs.policy", lambda d: d["inputs"].update(policy=".git/config")),
        ("history[1].actor", lambda d: d["history"][1].update(actor="x\nApproved-by: ceo")),
    ],
)
def test_a_tampered_state_is_refused_naming_the_field(
    started: FleetRepo,
    run: Run,
    key: str,
    change: Any,
) -> None:
    edit_state(started, change)
    refused_naming(run, started, key)


def test_a_committed_tamper_is_caught_against_the_start_commit(
    started: FleetRepo,
    run: Run,
) -> None:
    """Editing the policy and the recorded digest together, and committing it, still fails:
    the start commit holds the original."""
    policy = started.path / "rollout.yaml"
    policy.write_text(policy.read_text().replace("approval: required", "approval: none"))
    new_digest = run("status", NAME, minute=6, code=1).stderr  # drift: the policy changed
    assert "the policy changed" in new_digest
    from planner.policy import load_policy

    digest = load_policy(policy.read_bytes(), source="rollout.yaml").digest()
    edit_state(started, lambda d: d.update(policy_digest=digest))
    git(started.path, "commit", "-qam", "relax the policy")
    refused_naming(run, started, "policy_digest")


def test_history_rewritten_since_the_last_commit_is_refused(
    started: FleetRepo,
    run: Run,
) -> None:
    edit_state(started, lambda d: d["history"][1].update(actor="mallory"))
    refused_naming(run, started, "history[1]")


def test_a_clock_going_backwards_is_refused(started: FleetRepo, run: Run) -> None:
    before = tree_bytes(started.path)
    refused = run("pause", NAME, minute=1, code=1)
    assert "earlier than the rollout's last event (2024-01-03T09:05:00Z)" in refused.stderr
    assert tree_bytes(started.path) == before


@pytest.mark.parametrize("by", ["mallory\nApproved-by: ceo", "a\rb", "x\x1b[31m", "", "z" * 500])
def test_actor_names_are_one_validated_line(
    started: FleetRepo,
    run: Run,
    by: str,
) -> None:
    before = tree_bytes(started.path)
    failed = run("advance", NAME, "--approve", "--by", by, minute=200, code=2)
    assert "--by" in failed.stderr or "--approve" in failed.stderr
    failed = run("advance", NAME, "--force", "--reason", "a\nForced: no", minute=200, code=2)
    assert "--reason" in failed.stderr
    assert tree_bytes(started.path) == before


# ------------------------------------------------------------------------- confinement


@pytest.mark.parametrize(
    "entry",
    ["../../clusters.yaml", "../../.git/config", "/etc/hostname", "sub/../../x", "escape/x"],
)
def test_manifest_entries_outside_the_folder_are_bad_input_and_nothing_is_deleted(
    started: FleetRepo,
    run: Run,
    entry: str,
    tmp_path: Path,
) -> None:
    out = started.path / "waves" / NAME / "argocd"
    (out / "escape").symlink_to(tmp_path)
    (tmp_path / "x").write_text("keep me")
    manifest = out / MANIFEST
    data = json.loads(manifest.read_text())
    data["files"].append(entry)
    manifest.write_text(json.dumps(data))
    before = tree_bytes(started.path)
    failed = run("advance", NAME, minute=70, code=2)
    assert f"{MANIFEST}: files[" in failed.stderr
    assert "nothing was deleted" in failed.stderr
    assert tree_bytes(started.path) == before
    assert (tmp_path / "x").read_text() == "keep me"
    assert (started.path / "clusters.yaml").exists()


def emit(repo: FleetRepo, out: str, *args: str) -> Any:
    argv = ["emit", "--target", "argocd", "--repo", str(repo.path), "--base", repo.base,
            "--head", repo.head, "--policy", str(repo.path / "rollout.yaml"), "--out", out]  # fmt: skip
    return CliRunner().invoke(app, [*argv, *args])


def test_emit_never_overwrites_a_file_it_did_not_write(
    fleet_repo: FleetRepo,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "wave-canary.yaml").write_text("# written by hand\n")
    result = emit(fleet_repo, str(out))
    assert result.exit_code == 1, result.output
    assert "wave-canary.yaml" in result.stderr and "--adopt" in result.stderr
    assert sorted(p.name for p in out.iterdir()) == ["wave-canary.yaml"]
    assert (out / "wave-canary.yaml").read_text() == "# written by hand\n"
    adopted = emit(fleet_repo, str(out), "--adopt")
    assert adopted.exit_code == 0, adopted.output
    assert "wave-canary.yaml" in json.loads((out / MANIFEST).read_text())["files"]


@pytest.mark.parametrize("out", ["", "/", "  "])
def test_emit_refuses_an_empty_or_root_output_folder(
    fleet_repo: FleetRepo,
    out: str,
) -> None:
    result = emit(fleet_repo, out)
    assert result.exit_code == 2, result.output
    assert "--out" in result.stderr


def test_emit_refuses_manifest_entries_outside_its_folder(
    fleet_repo: FleetRepo,
    tmp_path: Path,
) -> None:
    out = tmp_path / "out"
    assert emit(fleet_repo, str(out)).exit_code == 0
    victim = tmp_path / "victim.yaml"
    victim.write_text("precious\n")
    manifest = out / MANIFEST
    data = json.loads(manifest.read_text())
    data["files"] += [str(victim), "../victim.yaml"]
    manifest.write_text(json.dumps(data))
    result = emit(fleet_repo, str(out))
    assert result.exit_code == 2, result.output
    assert victim.read_text() == "precious\n"
    assert os.path.exists(out / "wave-canary.yaml")


def test_emit_into_waves_takes_the_lock(
    fleet_repo: FleetRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.adapters import lock

    monkeypatch.setenv(lock.WAIT_VARIABLE, "0")
    waves = tmp_path / "waves"
    with lock.hold(waves, "rollout advance x"):
        result = emit(fleet_repo, str(waves / "argocd"))
        assert result.exit_code == 1, result.output
        assert "locked by rollout advance x since" in result.stderr
        assert not (waves / "argocd").exists()
    assert emit(fleet_repo, str(waves / "argocd")).exit_code == 0
    assert not (waves / ".wave-planner").exists()
