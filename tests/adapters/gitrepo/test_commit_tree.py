"""`prepare_commit` builds the tree a plain `git add` of the folders' new content gives:
removed files, a new folder and unchanged files included."""

from __future__ import annotations

import subprocess
from pathlib import Path

from planner.adapters import gitrepo


def _git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return done.stdout.decode().strip()


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_the_tree_is_the_folders_new_content(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    _git(root, "init", "-q", "-b", "main")
    _git(root, "config", "user.email", "t@example.com")
    _git(root, "config", "user.name", "t")
    for rel in ("waves/a/x", "waves/a/y", "waves/a/sub/z", "waves/a/d/e", "other/o"):
        _write(root / rel, rel + "\n")
    _git(root, "add", "-A")
    _git(root, "commit", "-q", "-m", "base")
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
