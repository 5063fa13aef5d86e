"""Faults: concurrent writers, a process killed at any point of a step, failures late in a
command. After each (and the next command's recovery of an interrupted journal), the state
and the manifests agree, no temporary file is left where git would see it, and a failure
changed no byte of the work tree."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner import api
from planner.adapters import lock, recovery, rolloutrepo, transaction
from planner.errors import Refusal, UserError
from planner.release import messages, model, times, transitions
from planner.release.model import Rollout
from tests.testing import rolloutfleet
from tests.testing.fleetrepo import FleetRepo
from tests.testing.rolloutfleet import (
    CLUSTERS,
    NAME,
    Run,
    git,
    invoke,
    pinned,
    start_args,
    tree_bytes,
)

fleet_repo = rolloutfleet.fleet_repo  # the fixtures
run = rolloutfleet.run


def agree(repo: FleetRepo, name: str = NAME, target: str = "argocd") -> Rollout:
    """The manifests pin exactly what the state file says; nothing temporary is visible."""
    folder = repo.path / "waves" / name
    state = messages.load_state((folder / "rollout.yaml").read_bytes(), source="rollout.yaml")
    expected = dict.fromkeys(CLUSTERS, state.head) | model.pins(state)
    assert pinned(folder / target, target) == expected
    leftovers = [p for p in folder.rglob("*") if p.name.endswith(".tmp")]
    assert leftovers == []
    visible = git(repo.path, "status", "--porcelain", "--untracked-files=all", "--", "waves")
    assert ".wave-planner/" not in visible and ".tmp" not in visible, visible
    return state


def released(state: Rollout) -> list[str]:
    return [s.name for s in state.steps if s.state == "released"]


# ------------------------------------------------------------------------------ the lock


def test_a_held_lock_makes_a_second_writer_exit_1_naming_the_holder(
    fleet_repo: FleetRepo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    monkeypatch.setenv(lock.WAIT_VARIABLE, "0")
    waves = fleet_repo.path / "waves"
    with lock.hold(waves, "rollout pause other"):
        before = tree_bytes(fleet_repo.path)
        refused = run("advance", NAME, minute=5, code=1)
        assert tree_bytes(fleet_repo.path) == before
    assert "locked by rollout pause other since " in refused.stderr
    assert f"(pid {os.getpid()}, host " in refused.stderr
    assert not lock.lock_path(waves).exists()
    run("advance", NAME, minute=5)


def test_a_stale_lock_is_named_and_never_broken(fleet_repo: FleetRepo, run: Run) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    lock.private_dir(fleet_repo.path / "waves")
    path = lock.lock_path(fleet_repo.path / "waves")
    holder = lock.Holder("rollout advance x", "2024-01-03T09:00:00Z", dead.pid,
                         __import__("socket").gethostname())  # fmt: skip
    path.write_text(__import__("json").dumps(holder.__dict__))
    before = tree_bytes(fleet_repo.path)
    refused = run("advance", NAME, minute=5, code=1)
    assert "stale lock" in refused.stderr
    assert f"rollout advance x since 2024-01-03T09:00:00Z (pid {dead.pid}" in refused.stderr
    assert f"remove {path}" in refused.stderr
    assert tree_bytes(fleet_repo.path) == before and path.exists()
    shown = run("status", NAME, minute=5)
    assert "stale lock" in shown.stderr
    path.unlink()
    run("advance", NAME, minute=5)


def test_concurrent_writers_lose_nothing(
    fleet_repo: FleetRepo, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two `advance` at once, and `advance` racing `pause`: exactly one release per round,
    every history entry kept."""
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    monkeypatch.setenv(lock.WAIT_VARIABLE, "60")
    for round_, minute in enumerate((5, 70)):
        monkeypatch.setenv(
            "WAVE_PLANNER_NOW", f"2024-01-03T{9 + minute // 60:02d}:{minute % 60:02d}:00Z"
        )
        outcomes: list[str] = []

        def advance(outcomes: list[str] = outcomes) -> None:
            try:
                api.rollout_advance(api.RolloutAdvanceRequest(repo=fleet_repo.path, name=NAME))
                outcomes.append("released")
            except Refusal as exc:
                outcomes.append(f"refused: {exc}")

        threads = [threading.Thread(target=advance) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(o.split(":")[0] for o in outcomes) == ["refused", "released"], outcomes
        state = agree(fleet_repo)
        assert len(released(state)) == round_ + 1
        assert [e.action for e in state.history] == ["start"] + ["advance"] * (round_ + 1)
    # advance racing pause: both land, in some order, and the history has both
    monkeypatch.setenv("WAVE_PLANNER_NOW", "2024-01-03T12:00:00Z")
    errors: list[BaseException] = []

    def call(fn: Callable[[], Any]) -> None:
        try:
            fn()
        except (Refusal, UserError) as exc:
            errors.append(exc)

    threads = [
        threading.Thread(
            target=call,
            args=(
                lambda: api.rollout_pause(api.RolloutPauseRequest(repo=fleet_repo.path, name=NAME)),
            ),
        ),
        threading.Thread(
            target=call,
            args=(
                lambda: api.rollout_advance(
                    api.RolloutAdvanceRequest(
                        repo=fleet_repo.path, name=NAME, approve=True, by="al"
                    )
                ),
            ),
        ),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = agree(fleet_repo)
    actions = [e.action for e in state.history[3:]]
    assert "pause" in actions
    assert state.paused
    assert len(actions) == 2 - len(errors)


# ------------------------------------------------------------------- kill at any point


def _next_step(repo: FleetRepo) -> tuple[Rollout, dict[str, bytes]]:
    """The state and manifests `advance` would write at 09:05 (computed once)."""
    from planner.api import rolloutcheck, rolloutwrite

    state = rolloutrepo.read(repo.path, NAME)
    current, _ = rolloutcheck.recompute_drift(repo.path, state)
    new = transitions.advance(state, times.parse_time("2024-01-03T09:05:00Z"), "rm")
    assert isinstance(new, Rollout)
    return new, rolloutwrite.rollout_manifests(current, "argocd", model.released(new))


def _live(repo: FleetRepo) -> dict[str, bytes]:
    """The work tree's files, but .git and wave-planner's private folder (never committed)."""
    out = {}
    for folder, names, files in os.walk(repo.path):
        names[:] = [n for n in names if n not in {".git", lock.PRIVATE_DIR}]
        for name in files:
            path = os.path.join(folder, name)
            with open(path, "rb") as handle:
                out[os.path.relpath(path, repo.path)] = handle.read()
    return out


def _agreeing(repo: FleetRepo, seen: dict[int, Rollout]) -> tuple[Rollout, dict[str, bytes]]:
    """`agree`, once for each distinct content of the work tree (same bytes, same verdict)."""
    live = _live(repo)
    key = hash(tuple(sorted(live.items())))
    if key not in seen:
        seen[key] = agree(repo)
    return seen[key], live


def _crash_points(repo: FleetRepo, commit: bool) -> int:
    """Write the step in a child killed (os._exit: no cleanup, no finally) at its k-th file
    operation, for every k until it completes. After each death: with no journal, not a
    byte of the work tree changed (or the step is wholly written); with a journal, `status`
    names it, and the next command's recovery leaves the tree agreeing. Returns the number
    of points."""
    new, manifests = _next_step(repo)
    message = messages.commit_message(new) if commit else None
    original = git(repo.path, "rev-parse", "HEAD").strip()
    before = _live(repo)
    seen: dict[int, Rollout] = {}
    ops = ("rename", "replace", "link", "unlink", "rmdir", "mkdir", "write", "fsync", "open")
    k = 0
    while True:
        k += 1
        pid = os.fork()
        if pid == 0:  # the child: count file operations of the write, die at the k-th
            count = [0]

            def wrap(fn: Callable[..., Any], count: list[int] = count, k: int = k) -> Any:
                def inner(*args: Any, **kwargs: Any) -> Any:
                    count[0] += 1
                    if count[0] == k:
                        os._exit(9)
                    return fn(*args, **kwargs)

                return inner

            try:
                with rolloutrepo.locked(repo.path, "test advance"):
                    for op in ops:
                        setattr(os, op, wrap(getattr(os, op)))
                    rolloutrepo.save(repo.path, new, manifests, message=message,
                                     command=f"rollout advance {NAME}")  # fmt: skip
            except BaseException:
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
        assert code in (0, 9), code
        journal = [p for p in recovery.pending(repo.path / "waves") if p.journal]
        if journal:  # past the commit point: the next command completes the step
            shown = api.rollout_status(api.RolloutStatusRequest(repo=repo.path, name=NAME))
            assert any(f"interrupted `rollout advance {NAME}`" in n for n in shown.notes)
            if released(shown.state):  # the state is switched last: never ahead of them
                assert released(_agreeing(repo, seen)[0]) == ["canary"]
        elif (live := _live(repo)) != before:
            assert released(_agreeing(repo, seen)[0]) == ["canary"]  # wholly written
        lock.lock_path(repo.path / "waves").unlink(missing_ok=True)  # the dead holder's
        with rolloutrepo.locked(repo.path, "test recovery"):
            pass
        state, live = _agreeing(repo, seen)
        assert not recovery.pending(repo.path / "waves")
        if journal or code == 0:
            assert released(state) == ["canary"]
        if code == 0:
            return k
        if released(state):  # the step was written: go back for the next point
            git(repo.path, "reset", "-q", "--hard", original)
            git(repo.path, "clean", "-qfdx", "--", "waves")
            live = _live(repo)
        assert live == before


@pytest.mark.slow
@pytest.mark.parametrize("commit", [False, True], ids=["write", "write-and-commit"])
def test_a_step_killed_at_any_point_leaves_state_and_manifests_agreeing(
    fleet_repo: FleetRepo, run: Run, commit: bool
) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"), "--commit")
    assert _crash_points(fleet_repo, commit) > 10
    if commit:
        assert git(fleet_repo.path, "status", "--porcelain") == ""
        assert "release canary" in git(fleet_repo.path, "log", "-1", "--format=%s")


def _forked_advance(repo: FleetRepo) -> int:
    """`wave-planner rollout advance NAME --commit` at 09:05 in a child process (forked: the
    planner is already imported, so every moment of the child's life is the command's)."""
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            code = invoke(repo.path, "advance", NAME, "--commit", minute=5).exit_code
        finally:
            os._exit(code)
    return pid


@pytest.mark.slow
def test_kill_9_at_random_moments_of_an_advance(fleet_repo: FleetRepo, run: Run) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"), "--commit")
    started_at = git(fleet_repo.path, "rev-parse", "HEAD").strip()
    started = time.monotonic()
    _, status = os.waitpid(_forked_advance(fleet_repo), 0)
    duration = time.monotonic() - started
    assert os.waitstatus_to_exitcode(status) == 0
    assert released(agree(fleet_repo)) == ["canary"]
    git(fleet_repo.path, "reset", "-q", "--hard", started_at)  # back to before the step
    git(fleet_repo.path, "clean", "-qfdx", "--", "waves")
    assert released(agree(fleet_repo)) == []
    rng = random.Random(12)
    for _ in range(4):
        pid = _forked_advance(fleet_repo)
        time.sleep(duration * rng.uniform(0.05, 1.0))
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        agree(fleet_repo)
        lock.lock_path(fleet_repo.path / "waves").unlink(missing_ok=True)
        if released(agree(fleet_repo)):
            git(fleet_repo.path, "reset", "-q", "--hard", "HEAD")
            git(fleet_repo.path, "clean", "-qfdx", "--", "waves")
            if git(fleet_repo.path, "log", "-1", "--format=%s").startswith(f"rollout {NAME}: rel"):
                git(fleet_repo.path, "reset", "-q", "--hard", "HEAD~1")
    run("advance", NAME, "--commit", minute=5)
    assert released(agree(fleet_repo)) == ["canary"]
    assert git(fleet_repo.path, "status", "--porcelain") == ""


def test_an_interrupted_transaction_is_completed_by_the_next_command(
    fleet_repo: FleetRepo, run: Run
) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    state = rolloutrepo.read(fleet_repo.path, NAME)
    waves = fleet_repo.path / "waves"
    txn = transaction.Transaction(waves, "rollout pause region-settings")
    paused = transitions.pause(state, times.parse_time("2024-01-03T09:01:00Z"), "bob")
    assert isinstance(paused, Rollout)
    txn.put(rolloutrepo.state_path(fleet_repo.path, NAME), messages.dump_state(paused))
    txn.prepare()
    txn.commit()  # journal written, files in place, old versions not yet removed
    txn._area = None  # "killed" before finish()
    assert recovery.pending(waves)
    shown = run("status", NAME, minute=2)
    assert "interrupted `rollout pause region-settings`" in shown.stderr
    resumed = run("resume", NAME, minute=3)
    assert "recovered: completed" in resumed.stderr
    assert not recovery.pending(waves)
    assert [e.action for e in agree(fleet_repo).history] == ["start", "pause", "resume"]


def test_a_transaction_stages_only_what_changes_and_puts_the_state_last(
    tmp_path: Path,
) -> None:
    """Operations in the order given, a new folder as one rename where its last file was
    given, the state file last; undo puts back replaced and removed files and folders."""
    waves = tmp_path / "waves"
    (waves / "r" / "argocd" / "old").mkdir(parents=True)
    before = {"r/rollout.yaml": b"s1", "r/argocd/a.yaml": b"a1", "r/argocd/old/b.yaml": b"b"}
    before |= {f"r/argocd/keep-{i}.yaml": b"k" for i in range(50)}
    for rel, data in before.items():
        (waves / rel).write_bytes(data)
    txn = transaction.Transaction(waves, "rollout advance r")
    txn.put(waves / "r" / "argocd" / "a.yaml", b"a2")
    txn.put(waves / "fleet" / "argocd" / "all.yaml", b"f")
    txn.remove(waves / "r" / "argocd" / "old" / "b.yaml")
    txn.put(waves / "r" / "rollout.yaml", b"s2")
    txn.prepare()
    assert [(op["live"], sorted(op)) for op in txn.ops] == [
        ("r/argocd/a.yaml", ["live", "sha256", "staged"]),
        ("fleet", ["folder", "live"]),
        ("r/argocd/old/b.yaml", ["delete", "live"]),
        ("r/rollout.yaml", ["live", "sha256", "staged"]),
    ]
    area = txn._area
    assert area is not None and sum(1 for p in area.rglob("*") if p.is_file()) == 3
    txn.commit()
    assert (waves / "fleet" / "argocd" / "all.yaml").read_bytes() == b"f"
    assert not (waves / "r" / "argocd" / "old").exists()  # left empty: removed
    assert (waves / "r" / "rollout.yaml").read_bytes() == b"s2"
    txn.undo()
    after = {
        p.relative_to(waves).as_posix(): p.read_bytes()
        for p in waves.rglob("*")
        if p.is_file() and lock.PRIVATE_DIR not in p.parts
    }
    assert after == before
    assert not recovery.pending(waves)


# --------------------------------------------------------- failures change nothing


def test_a_failing_commit_leaves_the_work_tree_and_head_as_before(
    fleet_repo: FleetRepo, run: Run
) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"), "--commit")
    git(fleet_repo.path, "config", "--unset", "user.name")
    git(fleet_repo.path, "config", "--unset", "user.email")
    git(fleet_repo.path, "config", "user.useConfigOnly", "true")
    head = git(fleet_repo.path, "rev-parse", "HEAD")
    index = (fleet_repo.path / ".git" / "index").read_bytes()
    before = tree_bytes(fleet_repo.path)
    failed = run("advance", NAME, "--commit", "--by", "alice", minute=5, code=2)
    assert "git commit-tree failed" in failed.stderr
    assert tree_bytes(fleet_repo.path) == before
    assert git(fleet_repo.path, "rev-parse", "HEAD") == head
    assert (fleet_repo.path / ".git" / "index").read_bytes() == index


@pytest.mark.parametrize(
    "now", ["9999-12-31T23:59:59Z", "0001-01-01T00:00:00Z", "99999-01-01T00:00:00Z"]
)
def test_times_that_would_overflow_are_bad_input(
    fleet_repo: FleetRepo, run: Run, now: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    run("advance", NAME, minute=5)
    before = tree_bytes(fleet_repo.path)
    monkeypatch.setenv("WAVE_PLANNER_NOW", now)
    with pytest.raises(UserError, match="WAVE_PLANNER_NOW"):
        api.rollout_advance(api.RolloutAdvanceRequest(repo=fleet_repo.path, name=NAME))
    with pytest.raises(UserError, match="WAVE_PLANNER_NOW"):
        api.rollout_status(api.RolloutStatusRequest(repo=fleet_repo.path, name=NAME))
    assert tree_bytes(fleet_repo.path) == before


def test_a_bake_that_would_overflow_is_bad_input(fleet_repo: FleetRepo, run: Run) -> None:
    policy = fleet_repo.path / "rollout.yaml"
    policy.write_text(policy.read_text().replace("bake: 1h", "bake: 99999999999d", 1))
    before = tree_bytes(fleet_repo.path)
    failed = run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"),
                 code=2)  # fmt: skip
    assert "longer than the limit" in failed.stderr
    assert tree_bytes(fleet_repo.path) == before


@pytest.mark.skipif(os.geteuid() == 0, reason="permissions do not bind root")
def test_an_unwritable_state_file_changes_nothing(fleet_repo: FleetRepo, run: Run) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    state = fleet_repo.path / "waves" / NAME / "rollout.yaml"
    state.chmod(0o444)
    before = tree_bytes(fleet_repo.path)
    failed = run("advance", NAME, minute=5, code=2)
    assert "read-only" in failed.stderr
    assert tree_bytes(fleet_repo.path) == before


def test_a_state_file_in_the_way_changes_nothing(fleet_repo: FleetRepo, run: Run) -> None:
    run(*start_args(fleet_repo, NAME, fleet_repo.base, fleet_repo.head, "argocd"))
    canary = fleet_repo.path / "waves" / NAME / "argocd" / "wave-canary.yaml"
    data = canary.read_bytes()
    canary.unlink()
    canary.mkdir()
    before = tree_bytes(fleet_repo.path)
    failed = run("advance", NAME, minute=5, code=1)
    assert "wave-canary.yaml" in failed.stderr
    assert tree_bytes(fleet_repo.path) == before
    canary.rmdir()
    canary.write_bytes(data)
    yaml.safe_load_all(data)
    run("advance", NAME, minute=5)
