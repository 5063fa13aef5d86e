"""The release transaction's building blocks (planner.adapters.transaction, recovery): each
file replaced, undo, a staged copy without journal, a journal refused whole, and a step
written and committed together with another generated tree."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from planner.adapters import recovery, transaction
from planner.errors import UserError


def test_a_transaction_replaces_each_file_and_drops_leftovers(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    (waves / "r" / "argocd").mkdir(parents=True)
    (waves / "r" / "argocd" / "old.yaml").write_text("old")
    (waves / "r" / "keep.txt").write_text("keep")
    (waves / "r" / ".rollout.yaml.abc.tmp").write_text("leftover")
    txn = transaction.Transaction(waves, "test")
    txn.put(waves / "r" / "rollout.yaml", b"state")
    txn.remove(waves / "r" / "argocd" / "old.yaml")
    txn.put(waves / "fleet" / "argocd" / "all.yaml", b"fleet")
    assert [p.name for p in txn.changed()] == ["all.yaml", "old.yaml", "rollout.yaml"]
    txn.prepare()
    assert not (waves / "r" / "rollout.yaml").exists()  # nothing live before the switch
    txn.commit()
    txn.finish()
    files = sorted(p.relative_to(waves).as_posix() for p in waves.rglob("*") if p.is_file())
    assert files == [".wave-planner/.gitignore", "fleet/argocd/all.yaml", "r/keep.txt",
                     "r/rollout.yaml"]  # fmt: skip
    assert not recovery.pending(waves)


def test_undo_puts_the_old_folders_back(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    (waves / "r").mkdir(parents=True)
    (waves / "r" / "rollout.yaml").write_text("old")
    txn = transaction.Transaction(waves, "test")
    txn.put(waves / "r" / "rollout.yaml", b"new")
    txn.put(waves / "n" / "rollout.yaml", b"new")
    txn.prepare()
    txn.commit()
    assert (waves / "r" / "rollout.yaml").read_text() == "new"
    txn.undo()
    assert (waves / "r" / "rollout.yaml").read_text() == "old"
    assert not (waves / "n").exists()


def test_a_staged_copy_without_journal_is_dropped(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    (waves / "r").mkdir(parents=True)
    (waves / "r" / "rollout.yaml").write_text("old")
    txn = transaction.Transaction(waves, "test")
    txn.put(waves / "r" / "rollout.yaml", b"new")
    txn.prepare()  # "killed" here: no journal
    assert [p.journal for p in recovery.pending(waves)] == [False]
    notes = recovery.recover(waves)
    assert notes and "dropped" in notes[0]
    assert (waves / "r" / "rollout.yaml").read_text() == "old"
    assert not recovery.pending(waves)


def test_a_journal_with_an_operation_it_cannot_apply_is_refused_whole(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    (waves / "r").mkdir(parents=True)
    (waves / "r" / "rollout.yaml").write_text("old")
    (waves / "r" / "a.yaml").write_text("old")
    txn = transaction.Transaction(waves, "test")
    txn.put(waves / "r" / "a.yaml", b"new")
    txn.put(waves / "r" / "rollout.yaml", b"new")
    txn.prepare()
    assert txn._area is not None
    ops = [*txn.ops, {"live": "../outside", "delete": "1"}]  # edited by hand
    (txn._area / transaction.JOURNAL).write_text(json.dumps({"command": "t", "ops": ops}))
    with pytest.raises(UserError) as refused:
        recovery.recover(waves)
    assert "journal" in str(refused.value) and "git" in str(refused.value)
    assert (waves / "r" / "a.yaml").read_text() == "old"  # nothing applied in part
    assert (waves / "r" / "rollout.yaml").read_text() == "old"
    assert [p.journal for p in recovery.pending(waves)] == [True]  # kept for inspection


def test_a_step_and_another_generated_tree_are_written_and_committed_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from planner.adapters import rolloutrepo
    from tests.testing.rolloutfleet import git
    from tests.testing.rolloutstate import fresh

    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.name", "T")
    git(tmp_path, "config", "user.email", "t@example.com")
    (tmp_path / "README").write_text("fleet\n")
    git(tmp_path, "add", "README")
    git(tmp_path, "commit", "-qm", "init")
    state = fresh()
    written, sha = rolloutrepo.save(
        tmp_path,
        state,
        {"wave-canary.yaml": b"a: 1\n"},
        trees={"waves/fleet/argocd": {"fleet.yaml": b"b: 2\n"}},
        message="rollout: start\n",
    )
    assert sha is not None
    assert written == sorted([
        f"waves/{state.name}/argocd/wave-canary.yaml", f"waves/{state.name}/rollout.yaml",
        "waves/fleet/argocd/fleet.yaml",
    ])  # fmt: skip
    tracked = git(tmp_path, "ls-tree", "-r", "--name-only", sha).split()
    assert "waves/fleet/argocd/fleet.yaml" in tracked
    assert f"waves/{state.name}/rollout.yaml" in tracked
    assert not any(".wave-planner/" in p for p in tracked)
    assert git(tmp_path, "status", "--porcelain") == ""
