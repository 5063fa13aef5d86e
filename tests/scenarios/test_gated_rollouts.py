"""Gated rollouts end to end: command gates, --if-ready, watch, on_failure: rollback.

A real fleet repository (tests/testing/gatefleet.py) whose command gates read a health folder; the
clock is moved with WAVE_PLANNER_NOW (or injected, for `watch`), so nothing sleeps.
"""

from __future__ import annotations

import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner import api, gates
from planner.adapters import probes
from planner.release import times
from tests.testing import gatefleet
from tests.testing.rolloutfleet import git

NAME = "regions"


def _state(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo / "waves" / NAME / "rollout.yaml").read_text())
    return data


def _steps(repo: Path) -> dict[str, str]:
    return {s["name"]: s["state"] for s in _state(repo)["steps"]}


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The gates name check.py and the health folder relative to the working folder."""
    monkeypatch.chdir(tmp_path)


def test_if_ready_drives_the_rollout_to_completion(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, relative=True, start=NAME)
    run = gatefleet.runner(repo)
    released: list[tuple[int, str]] = []
    waits: list[str] = []
    approvals = 0
    for minute in range(5, 24 * 60, 10):
        result = run("advance", NAME, "--if-ready", "--commit", minute=minute)
        out = result.stdout
        if "nothing left to release" in out:
            break
        if "advance " in out:
            released.append((minute, out.split("advance ")[1].split(":")[0]))
        else:
            assert "waiting for" in out or "gates of the last step production-2 passed" in out
            waits.append(out.strip().splitlines()[-1])
        if "waiting for approval" in out:
            approvals += 1
            assert "production-1" in out
            run("advance", NAME, "--approve", "--by", "alice", "--commit", minute=minute + 1)
            released.append((minute + 1, "production-1"))
    assert [step for _, step in released] == ["canary", "staging", "production-1", "production-2"]
    assert approvals == 1, "approval: required asks once per wave"
    # Each step went out at the first check after the previous step's bake.
    assert [m for m, _ in released] == [5, 65, 126, 165]
    assert any("time left" in w for w in waits)
    state = _state(repo.path)
    assert {s["state"] for s in state["steps"]} == {"released"}
    gate_events = [e for e in state["history"] if e["action"] == "gate"]
    # The last step's gates run too, once, after its bake.
    assert [e["step"] for e in gate_events] == ["canary", "staging", "production-1", "production-2"]
    assert all(e["detail"].startswith("passed: ") for e in gate_events)
    # Per cluster for canary and production, once per step for staging (checked again
    # when the approval came).
    assert sorted(gatefleet.calls(health)) == [
        "dev-eu-west-1", "dev-us-east-1",
        "prod-eu-west-1", "prod-eu-west-2",
        "prod-us-east-1", "prod-us-east-2", "prod-us-east-3",
        "step=staging staging-eu-west-1,staging-us-east-1",
        "step=staging staging-eu-west-1,staging-us-east-1",
    ]  # fmt: skip
    log = git(repo.path, "log", "--format=%s")
    assert log.count("rollout regions: release") == 4


def test_a_failing_gate_refuses_names_the_evidence_and_is_recorded(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    (health / "dev-us-east-1").write_text("bad: kustomization apps is not ready\n")
    refused = run("advance", NAME, minute=70, code=1)
    assert "gate(s) healthy of step canary failed on dev-us-east-1" in refused.stderr
    assert "kustomization apps is not ready" in refused.stderr
    assert "gate healthy failed on cluster dev-us-east-1: exit 1" in refused.stderr
    history = _state(repo.path)["history"]
    assert history[-1]["action"] == "gate"
    assert history[-1]["step"] == "canary"
    assert "failed: healthy" in history[-1]["detail"]
    assert _steps(repo.path)["staging"] == "pending"
    # --if-ready waits (exit 0), and does not record the same failure again.
    waiting = run("advance", NAME, "--if-ready", minute=80)
    assert "waiting for gate" in waiting.stdout
    assert len(_state(repo.path)["history"]) == len(history)
    # --force --reason overrides, and says so.
    forced = run("advance", NAME, "--force", "--reason", "known flake", minute=81)
    assert "forced past gate: known flake" in forced.stdout
    staging = next(s for s in _state(repo.path)["steps"] if s["name"] == "staging")
    assert staging["state"] == "released"
    assert staging["forced_reason"] == "known flake"


def test_a_gate_is_not_evaluated_before_the_bake(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    result = run("advance", NAME, "--if-ready", minute=30)
    assert "waiting for bake" in result.stdout
    assert "time left 35m" in result.stdout
    assert gatefleet.calls(health) == []


def test_on_failure_rollback_pins_the_failing_step_back(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, on_failure="rollback", relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    run("advance", NAME, minute=70)
    run("advance", NAME, "--approve", "--by", "alice", minute=140)
    (health / "prod-eu-west-2").write_text("bad: 12 pods crash-looping\n")
    result = run("advance", NAME, "--if-ready", "--commit", minute=175)
    assert "waiting for gate" in result.stdout
    assert "production-1 was rolled back" in result.stdout
    steps = _steps(repo.path)
    assert steps["production-1"] == "rolled-back"
    assert steps["production-2"] == "pending"
    history = _state(repo.path)["history"]
    assert [e["action"] for e in history[-2:]] == ["gate", "rollback"]
    assert "gate(s) healthy failed" in history[-1]["detail"]
    manifest = (repo.path / "waves" / NAME / "argocd" / "wave-production.yaml").read_text()
    element = manifest.split("cluster: prod-eu-west-2")[1].split("wave:")[0]
    assert repo.base in element
    assert "roll back production-1" in git(repo.path, "log", "-1", "--format=%s")
    # The rollout is halted now: --if-ready waits, plain advance refuses.
    assert "waiting for halted" in run("advance", NAME, "--if-ready", minute=180).stdout
    run("advance", NAME, minute=181, code=1)


def test_approval_each_step_keeps_asking(tmp_path: Path) -> None:
    repo, _ = gatefleet.build(tmp_path, approval="each-step", relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    run("advance", NAME, minute=70)
    run("advance", NAME, "--approve", "--by", "alice", minute=140)
    refused = run("advance", NAME, minute=175, code=1)
    assert "production-2 (wave production) needs approval" in refused.stderr
    run("advance", NAME, "--approve", "--by", "bob", minute=176)


@pytest.mark.slow
def test_watch_stops_at_the_approval_and_at_the_end(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, relative=True, start=NAME)
    run = gatefleet.runner(repo)
    clock = [times.parse_time("2024-01-03T09:05:00Z")]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += timedelta(seconds=seconds)

    lines: list[str] = []
    progress = api.rollout_watch(
        api.RolloutWatchRequest(
            repo=repo.path, name=NAME, echo=lines.append, clock=lambda: clock[0], sleep=sleep,
            poll=600,
        )
    )  # fmt: skip
    assert progress.waiting is not None and progress.waiting.kind == "approval"
    assert lines[0] == "rollout regions: released canary"
    assert any(line.startswith("rollout regions: waiting for bake") for line in lines)
    assert "rollout regions: released staging" in lines
    assert lines[-1].startswith("rollout regions: waiting for approval: step production-1")
    assert slept and max(slept) <= 600
    run("advance", NAME, "--approve", "--by", "alice", minute=200)
    (health / "prod-eu-west-1").write_text("bad\n")
    clock[0] = times.parse_time("2024-01-03T13:00:00Z")
    lines.clear()
    stopped = api.rollout_watch(
        api.RolloutWatchRequest(
            repo=repo.path, name=NAME, echo=lines.append, clock=lambda: clock[0], sleep=sleep
        )
    )
    assert stopped.waiting is not None and stopped.waiting.kind == "gate"
    assert "prod-eu-west-1" in lines[-1]
    (health / "prod-eu-west-1").write_text("ok\n")
    lines.clear()
    done = api.rollout_watch(
        api.RolloutWatchRequest(
            repo=repo.path, name=NAME, echo=lines.append, clock=lambda: clock[0], sleep=sleep
        )
    )
    assert lines[0] == "rollout regions: released production-2; every step is released"
    assert all(
        line.startswith("rollout regions: waiting for bake: the last step production-2")
        for line in lines[1:-1]
    )
    assert len(lines) > 2
    assert lines[-1].startswith(
        "rollout regions: complete; gates of the last step production-2 passed: gate healthy"
    )
    assert done.view.gate.kind == "done"


def test_the_watch_command_runs(tmp_path: Path) -> None:
    repo, _ = gatefleet.build(tmp_path, relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    run("advance", NAME, minute=70)
    out = run("watch", NAME, minute=140)
    assert out.stdout.splitlines() == [
        "rollout regions: waiting for approval: step production-1 (wave production) needs "
        "approval: pass --approve --by WHO"
    ]
    # A clock frozen by WAVE_PLANNER_NOW cannot move: watch checks once and stops.
    run("advance", NAME, "--approve", "--by", "alice", minute=141)
    frozen = run("watch", NAME, minute=150)
    assert "waiting for bake" in frozen.stdout


# ----------------------------------------------------------------- the probe adapter

TARGET = gates.GateSubject("s", "w", ("a", "b"), {"a": {}, "b": {}})


def test_a_command_that_runs_too_long_fails_with_that_reason() -> None:
    argv = [sys.executable, "-c", "import time; print('started'); time.sleep(30)"]
    passed, evidence = probes.command(argv, TARGET, timeout=1)
    assert not passed
    assert evidence.startswith("cannot be evaluated: timed out after 1s")


def test_a_command_that_cannot_start_fails_with_that_reason() -> None:
    passed, evidence = probes.command(["/nonexistent/flux", "get"], TARGET, timeout=5)
    assert not passed
    assert "cannot be evaluated: cannot run '/nonexistent/flux'" in evidence


def test_command_output_is_kept_and_nothing_goes_through_a_shell(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    spec = gates.GateSpec(
        name="echo",
        command=(sys.executable, "-c", "import sys; print(sys.argv[1:])", "{{labels.team}}"),
        per="cluster",
    )
    evil = gates.GateSubject("s", "w", ("a",), {"a": {"team": f"x; touch {marker}"}})
    verdict = probes.evaluate([spec], evil)
    assert verdict.passed
    assert f"['x; touch {marker}']" in verdict.evaluations[0].evidence
    assert not marker.exists()


@pytest.mark.parametrize("per", ["step", "cluster"])
def test_evaluations_per_step_and_per_cluster(per: str) -> None:
    spec = gates.GateSpec(
        name="g", command=(sys.executable, "-c", "import sys; sys.exit(sys.argv[1] == 'b')",
                           "{{cluster}}" if per == "cluster" else "{{clusters}}"),
        per=per,
    )  # fmt: skip
    verdict = probes.evaluate([spec], TARGET)
    if per == "cluster":
        assert [e.cluster for e in verdict.evaluations] == ["a", "b"]
        assert verdict.failing_clusters() == ["b"]
    else:
        assert [e.cluster for e in verdict.evaluations] == [None]
        assert verdict.passed


def test_the_last_steps_gates_run_after_its_bake(tmp_path: Path) -> None:
    repo, health = gatefleet.build(tmp_path, on_failure="rollback", relative=True, start=NAME)
    run = gatefleet.runner(repo)
    run("advance", NAME, minute=5)
    run("advance", NAME, minute=70)
    run("advance", NAME, "--approve", "--by", "alice", minute=140)
    run("advance", NAME, minute=175)
    (health / "prod-us-east-3").write_text("bad: pods pending\n")
    baking = run("advance", NAME, "--if-ready", minute=190)
    assert "waiting for bake: the last step production-2" in baking.stdout
    failed = run("advance", NAME, "--if-ready", "--commit", minute=206)
    assert "gate(s) healthy of step production-2 failed on prod-us-east-3" in failed.stdout
    assert _steps(repo.path)["production-2"] == "rolled-back"
