"""`prepare_changes` builds, from the changed folders only, the tree `git add -A` of the
folders' new content gives (and the full path, `prepare_commit`, gives); where git would
convert a file it declines, so the caller takes the full path."""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from pathlib import Path

import pytest

from planner.adapters import gitrepo
from planner.adapters.gitrepo import changes
from planner.adapters.gitrepo.changes import is_temporary
from tests.testing.smallrepo import committed
from tests.testing.smallrepo import git as _git
from tests.testing.smallrepo import write as _write

BASE = (
    "waves/a/x", "waves/a/y", "waves/a/sub/z", "waves/a/d/e", "waves/a/d/f/g",
    "waves/a/keep/k", "waves/c/c1", "other/o", "top.txt",
)  # fmt: skip


@pytest.fixture(scope="module")
def _committed_base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """BASE committed once for the module: the tests start from the same commit."""
    return committed(tmp_path_factory.mktemp("base") / "repo", BASE)


@pytest.fixture
def repo(tmp_path: Path, _committed_base: Path) -> Path:
    """A repository of its own for each test: a copy of the committed base (the work tree
    and `.git`; git re-reads the stat data it keeps in the index)."""
    return Path(shutil.copytree(_committed_base, tmp_path / "repo", symlinks=True))


def _expected(root: Path, changes: Mapping[str, bytes | None], tmp_path: Path) -> str:
    """The tree `git add -A` of the changed top folders gives, in a copy of the repository
    (its work tree as it is, hand edits and untracked files included) with `changes`."""
    copy = tmp_path / "expected"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(root, copy, symlinks=True)
    tops = sorted({"/".join(path.split("/")[:2]) for path in changes})
    for path, data in changes.items():
        target = copy / path
        if data is None:
            target.unlink(missing_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            target.unlink(missing_ok=True)
            target.write_bytes(data)
    _git(copy, "add", "-A", "--", *tops)
    return _git(copy, "write-tree")


def _full_path(root: Path, changes: Mapping[str, bytes | None], tmp_path: Path) -> str:
    """The tree of the full path: every file of the folders listed and hashed."""
    staged = tmp_path / "staged"
    folders: dict[str, dict[str, Path]] = {}
    for top in sorted({"/".join(path.split("/")[:2]) for path in changes}):
        found: dict[str, Path] = {}
        for parent, _, names in os.walk(root / top):
            for name in names:
                path = Path(parent, name)
                if not is_temporary(name):
                    found[path.relative_to(root / top).as_posix()] = path
        folders[top] = found
    for i, (name, data) in enumerate(changes.items()):
        top, rel = "/".join(name.split("/")[:2]), "/".join(name.split("/")[2:])
        if data is None:
            folders[top].pop(rel, None)
        else:
            folders[top][rel] = staged / str(i)
            _write(staged / str(i), data.decode())
    prepared = gitrepo.prepare_commit(root, folders, "full")
    return _git(root, "rev-parse", f"{prepared.sha}^{{tree}}")


def _check(root: Path, changes: Mapping[str, bytes | None], tmp_path: Path) -> None:
    head = _git(root, "rev-parse", "HEAD")
    prepared = gitrepo.prepare_changes(root, changes, "step")
    assert prepared is not None
    got = _git(root, "rev-parse", f"{prepared.sha}^{{tree}}")
    assert got == _expected(root, changes, tmp_path)
    assert got == _full_path(root, changes, tmp_path)
    assert _git(root, "rev-parse", "HEAD") == head == prepared.parent  # nothing moved
    assert _git(root, "log", "-1", "--format=%s", prepared.sha) == "step"
    gitrepo.publish(prepared)  # the branch moves, the index follows the commit
    assert _git(root, "rev-parse", "HEAD") == prepared.sha
    assert _git(root, "diff-index", "--cached", "--name-only", "HEAD") == ""


def test_changed_removed_and_new_files_and_folders(repo: Path, tmp_path: Path) -> None:
    changes: dict[str, bytes | None] = {
        "waves/a/x": b"x changed\n",
        "waves/a/y": None,  # removed
        "waves/a/d/f/g": None,  # its folders go with it
        "waves/a/new/deep/w": b"new folder\n",
        "waves/a/gone": None,  # never existed
        "waves/b/b1": b"a new top folder\n",
        "waves/a/keep/k": b"waves/a/keep/k\n",  # same bytes
    }
    _check(repo, changes, tmp_path)


def test_hand_edits_untracked_files_and_the_executable_bit(repo: Path, tmp_path: Path) -> None:
    _write(repo / "waves/a/d/.x.99.tmp", "a leftover committed by mistake\n")
    _write(repo / "waves/a/d/.cfgtmp", "not a leftover\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "-m", "dot files")
    _write(repo / "waves/a/sub/z", "edited by hand\n")
    _write(repo / "waves/a/sub/untracked", "dropped in\n")
    _write(repo / "waves/a/d/.ignored", "ignored\n")
    _write(repo / ".gitignore", ".ignored\n")
    (repo / "waves/a/keep/k").chmod(0o755)
    (repo / "waves/a/d/e").unlink()  # removed by hand
    _write(repo / "waves/a/.x.1234.tmp", "a leftover\n")  # never carried
    _write(repo / "waves/c/c1", "another folder, not written: stays as committed\n")
    _write(repo / "other/o", "outside: not part of the commit\n")
    changes: dict[str, bytes | None] = {"waves/a/x": b"x changed\n"}
    head = _git(repo, "rev-parse", "HEAD")
    prepared = gitrepo.prepare_changes(repo, changes, "step")
    assert prepared is not None
    got = _git(repo, "rev-parse", f"{prepared.sha}^{{tree}}")
    assert got == _full_path(repo, changes, tmp_path)
    files = _git(repo, "ls-tree", "-r", got).splitlines()
    listed = {line.split("\t")[1]: line.split(" ")[0] for line in files}
    assert listed["waves/a/keep/k"] == "100755"
    assert "waves/a/sub/untracked" in listed and "waves/a/d/.ignored" in listed
    assert "waves/a/d/e" not in listed and "waves/a/.x.1234.tmp" not in listed
    assert "waves/a/d/.x.99.tmp" not in listed and "waves/a/d/.cfgtmp" in listed
    assert _git(repo, "rev-parse", f"{got}:waves/c") == _git(repo, "rev-parse", f"{head}:waves/c")
    assert _git(repo, "rev-parse", f"{got}:other") == _git(repo, "rev-parse", f"{head}:other")
    assert _git(repo, "show", f"{got}:waves/a/sub/z") == "edited by hand"


def test_the_tree_equals_git_add_of_the_folders(repo: Path, tmp_path: Path) -> None:
    _write(repo / "waves/a/sub/z", "edited by hand\n")
    _write(repo / "waves/a/sub/untracked", "dropped in\n")
    (repo / "waves/a/keep/k").chmod(0o755)
    (repo / "waves/a/d/e").unlink()
    _write(repo / "other/o", "outside\n")
    _git(repo, "status", "--porcelain")  # the index's file status refreshed
    changes: dict[str, bytes | None] = {"waves/a/x": b"x changed\n", "waves/a/y": None}
    _check(repo, changes, tmp_path)


def test_staged_changes_and_links(repo: Path, tmp_path: Path) -> None:
    _write(repo / "waves/a/staged", "staged, then changed\n")
    _git(repo, "add", "waves/a/staged")
    _write(repo / "waves/a/staged", "changed after staging\n")
    _git(repo, "rm", "-q", "--cached", "waves/a/y")  # untracked now, still there
    os.symlink("x", repo / "waves/a/link")
    _check(repo, {"waves/a/x": b"x changed\n"}, tmp_path)


def test_a_clean_step_lists_nothing_but_its_files(repo: Path, tmp_path: Path) -> None:
    _git(repo, "status", "--porcelain")
    prepared = gitrepo.prepare_changes(repo, {"waves/a/x": b"x changed\n"}, "step")
    assert prepared is not None
    assert [path for _, _, path in prepared.entries] == ["waves/a/x"]
    assert prepared.removed == () and prepared.folders == ()


def test_from_a_subfolder_of_the_repository(tmp_path: Path) -> None:
    top = tmp_path / "top"
    root = top / "deploy"
    root.mkdir(parents=True)
    _git(top, "init", "-q", "-b", "main")
    _git(top, "config", "user.email", "t@example.com")
    _git(top, "config", "user.name", "t")
    for rel in ("waves/a/x", "waves/a/y", "other"):
        _write(root / rel, rel + "\n")
    _write(top / "readme", "r\n")
    _git(top, "add", "-A")
    _git(top, "commit", "-q", "-m", "base")
    prepared = gitrepo.prepare_changes(root, {"waves/a/x": b"new\n", "waves/a/y": None}, "s")
    assert prepared is not None
    tree = _git(top, "ls-tree", "-r", "--name-only", prepared.sha).splitlines()
    assert tree == ["deploy/other", "deploy/waves/a/x", "readme"]
    assert _git(top, "show", f"{prepared.sha}:deploy/waves/a/x") == "new"


@pytest.mark.parametrize(
    "setup",
    [
        "attributes at the top",
        "attributes in the folder",
        "attributes untracked in the folder",
        "info/attributes",
        "core.autocrlf",
        "core.filemode",
        "no commit yet",
        "detached",
        "a submodule",
        "most files change",
    ],
)
def test_conversions_and_special_entries_take_the_full_path(
    repo: Path, setup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if setup == "attributes at the top":
        _write(repo / ".gitattributes", "*.yaml text eol=crlf\n")
    elif setup == "attributes in the folder":
        _write(repo / "waves/a/d/.gitattributes", "* text\n")
        _git(repo, "add", "-A")
        _git(repo, "commit", "-q", "-m", "attributes")
    elif setup == "attributes untracked in the folder":
        _write(repo / "waves/a/d/.gitattributes", "* text\n")
    elif setup == "info/attributes":
        _write(repo / ".git/info/attributes", "* text\n")
    elif setup == "core.autocrlf":
        _git(repo, "config", "core.autocrlf", "input")
    elif setup == "core.filemode":
        _git(repo, "config", "core.filemode", "false")
    elif setup == "no commit yet":
        shutil.rmtree(repo / ".git")
        _git(repo, "init", "-q", "-b", "main")
    elif setup == "detached":
        _git(repo, "checkout", "-q", "--detach")
    elif setup == "a submodule":
        head = _git(repo, "rev-parse", "HEAD")
        _git(repo, "update-index", "--add", "--cacheinfo", f"160000,{head},waves/a/module")
        _git(repo, "commit", "-q", "-m", "a submodule")
    elif setup == "most files change":
        monkeypatch.setattr(changes, "MANY_FILES", 1)
        _write(repo / "waves/a/sub/untracked", "dropped in\n")
    assert gitrepo.prepare_changes(repo, {"waves/a/x": b"x changed\n"}, "step") is None


def test_a_step_of_many_files_publishes_each_once(repo: Path, tmp_path: Path) -> None:
    for i in range(80):  # more paths than are matched one by one
        _write(repo / f"waves/a/many/{i}/f", f"{i}\n")
    changes: dict[str, bytes | None] = {f"waves/a/d/n{i}": b"n\n" for i in range(10)}
    changes["waves/a/y"] = None
    _check(repo, changes, tmp_path)
    listed = _git(repo, "ls-files", "--", "waves/a/many").splitlines()
    assert len(listed) == 80


def test_published_entries_keep_their_file_status(repo: Path) -> None:
    """The next step's `diff-index` does not report (and hash again) this step's files."""
    _git(repo, "status", "--porcelain")
    changes: dict[str, bytes | None] = {"waves/a/x": b"x changed\n", "waves/a/n/w": b"w\n"}
    prepared = gitrepo.prepare_changes(repo, changes, "step")
    assert prepared is not None
    for path, data in changes.items():  # what the transaction does before `publish`
        assert data is not None
        _write(repo / path, data.decode())
        os.utime(repo / path, (1_600_000_000, 1_600_000_000))  # not racily clean
    gitrepo.publish(prepared)
    assert _git(repo, "diff-files", "--name-only") == ""
    again = gitrepo.prepare_changes(repo, {"waves/a/y": b"y2\n"}, "next")
    assert again is not None
    assert [path for _, _, path in again.entries] == ["waves/a/y"]
