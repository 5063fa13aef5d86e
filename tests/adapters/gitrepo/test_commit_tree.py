"""`prepare_commit` builds the tree a plain `git add` of the folders' new content gives:
removed files, a new folder and unchanged files included."""

from __future__ import annotations

from pathlib import Path

from planner.adapters import gitrepo
from tests.testing.smallrepo import committed
from tests.testing.smallrepo import git as _git
from tests.testing.smallrepo import write as _write


def test_the_tree_is_the_folders_new_content(tmp_path: Path) -> None:
    root = committed(
        tmp_path / "repo", ("waves/a/x", "waves/a/y", "waves/a/sub/z", "waves/a/d/e", "other/o")
    )
    staged = tmp_path / "staged"
    new_x = _write(staged / "x", "x changed\n")
    new_w = _write(staged / "w", "new\n")
    new_b = _write(staged / "b1", "b\n")
    hand = _write(root / "waves/a/sub/z", "edited by hand\n")  # differs from the index
    folders = {
        "waves/a": {"x": new_x, "sub/z": hand, "d/e": root / "waves/a/d/e", "new/w": new_w},
        "waves/b": {"b1": new_b},
    }
    prepared = gitrepo.prepare_commit(root, folders, "step")
    got = _git(root, "rev-parse", f"{prepared.sha}^{{tree}}")

    expected = tmp_path / "expected"
    _git(tmp_path, "clone", "-q", str(root), str(expected))
    (expected / "waves/a/y").unlink()
    _write(expected / "waves/a/x", "x changed\n")
    _write(expected / "waves/a/sub/z", "edited by hand\n")
    _write(expected / "waves/a/new/w", "new\n")
    _write(expected / "waves/b/b1", "b\n")
    _git(expected, "add", "-A")
    assert got == _git(expected, "write-tree")
    assert _git(root, "rev-parse", "HEAD") == prepared.parent  # the branch did not move
