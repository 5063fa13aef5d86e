"""Committing through plumbing, without touching the user's index or running `git commit`.

`prepare_commit` hashes the files (`hash-object --no-filters`), builds a tree on a temporary
index (`read-tree`, `update-index --index-info`, `write-tree`) and makes the commit with
`commit-tree`; only then, separately, `publish` moves the branch (`update-ref` with the old
value, so a concurrent change is noticed) and updates those folders' entries in the user's
index. Signing happens only when asked (`sign=True`): the user's configured key, with the
standard `gpg`/`ssh-keygen` from PATH, never a program named by the repository.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from planner.adapters.gitrepo.process import call, run
from planner.errors import UserError


@dataclass(frozen=True)
class PreparedCommit:
    """A commit object made but not yet on the branch."""

    root: Path
    sha: str
    parent: str | None
    ref: str
    entries: tuple[tuple[str, str, str], ...]  # (mode, blob sha, path) of the folders
    folders: tuple[str, ...]  # folders whose whole content `entries` is
    removed: tuple[str, ...] = ()  # without `folders`: `entries` are the changed files only
    scope: tuple[str, ...] = ()  # without `folders`: the folders `entries` and `removed` are in


def prepare_commit(
    root: Path,
    folders: Mapping[str, Mapping[str, Path]],
    message: str,
    *,
    sign: bool = False,
) -> PreparedCommit:
    """A commit of HEAD with `folders` replaced ({repository path of a folder: {path inside
    it: the file holding its new bytes}}: the folder's whole new content).

    Nothing visible changes: the objects are written, the branch and the index are not.
    """
    head = run(root, "rev-parse", "--verify", "--quiet", "HEAD", key="--commit").strip()
    ref = run(root, "symbolic-ref", "--quiet", "HEAD", key="--commit").decode().strip()
    parent = head.decode() or None
    prefix = run(root, "rev-parse", "--show-prefix").decode().strip()
    folders = {prefix + path: source for path, source in folders.items()}
    entries: list[tuple[str, str, str]] = []
    for repo_path, source in sorted(folders.items()):
        files = sorted(source.items())
        regular = [p for _, p in files if not p.is_symlink()]
        shas: list[str] = []
        if regular:
            out = run(
                root,
                "hash-object",
                "-w",
                "--no-filters",
                "--stdin-paths",
                input=("\n".join(str(p) for p in regular) + "\n").encode(),
                key="--commit",
            )
            shas = out.decode().split()
        by_path = dict(zip(regular, shas, strict=True))
        for name, path in files:
            rel = f"{repo_path}/{name}"
            if path.is_symlink():
                sha = (
                    run(root, "hash-object", "-w", "--stdin", input=os.fsencode(os.readlink(path)))
                    .decode()
                    .strip()
                )
                entries.append(("120000", sha, rel))
            else:
                mode = "100755" if os.access(path, os.X_OK) else "100644"
                entries.append((mode, by_path[path], rel))
    git_dir = Path(run(root, "rev-parse", "--absolute-git-dir").decode().strip())
    fd, index = tempfile.mkstemp(prefix="wave-planner-index-", dir=git_dir)
    os.close(fd)
    os.unlink(index)
    try:
        env = {"GIT_INDEX_FILE": index}
        if parent:
            run(root, "read-tree", parent, env=env, key="--commit")
        else:
            run(root, "read-tree", "--empty", env=env, key="--commit")
        listed = run(
            root, "ls-files", "-z", "-s", "--full-name", "--", *_top(folders), env=env
        ).decode()
        info = _changes(listed, entries)
        if info:
            run(
                root,
                "update-index",
                "-z",
                "--index-info",
                input=("\0".join(info) + "\0").encode(),
                env=env,
                key="--commit",
            )
        tree = run(root, "write-tree", env=env, key="--commit").decode().strip()
    finally:
        Path(index).unlink(missing_ok=True)
        Path(index + ".lock").unlink(missing_ok=True)
    sha = make_commit(root, tree, parent, message, sign=sign)
    return PreparedCommit(root, sha, parent, ref, tuple(entries), tuple(sorted(folders)))


def make_commit(root: Path, tree: str, parent: str | None, message: str, *, sign: bool) -> str:
    """The commit object of `tree` on `parent` (`commit-tree`): its id."""
    args = ["commit-tree", tree, "-F", "-"]
    if parent:
        args += ["-p", parent]
    args += ["-S"] if sign else ["--no-gpg-sign"]
    return run(root, *args, input=message.encode(), signing=sign, key="--commit").decode().strip()


def publish(commit: PreparedCommit) -> None:
    """Stage the committed folders in the user's index, then move the branch to the commit
    (only from the parent it was made on). If the branch cannot move, the index entries are
    put back: nothing changed. A crash between the two leaves the step staged, not lost."""
    root = commit.root
    before = _staged(root, commit)
    paths = [line.split("\t", 1)[1] for line in before]
    forget = [f"0 {'0' * 40}\t{p}" for p in paths]
    forget += [f"0 {'0' * 40}\t{path}" for path in commit.removed]
    forget += [f"0 {'0' * 40}\t{path}" for _, _, path in commit.entries]
    new = [f"{mode} {sha}\t{path}" for mode, sha, path in commit.entries]
    _index_info(root, [*forget, *new])
    try:
        old = commit.parent or "0" * 40
        run(root, "update-ref", "-m", "wave-planner rollout", commit.ref, commit.sha, old,
            key="--commit")  # fmt: skip
    except BaseException:
        with contextlib.suppress(UserError):
            _index_info(root, [*forget, *before])
        raise
    if not commit.folders and commit.entries:
        _refresh(root, commit)


def _refresh(root: Path, commit: PreparedCommit) -> None:
    """Record the file status of the entries just staged (`git add --refresh`), so the next
    step's `diff-index` does not report them again (entries staged by `--index-info` have
    none). Best effort: the index's cached status only saves work, it decides nothing."""
    paths = [path for _, _, path in commit.entries]
    call(root, "add", "--refresh", "--", *_top(paths if len(paths) <= _FEW else commit.scope))


def _staged(root: Path, commit: PreparedCommit) -> list[str]:
    """The user's index entries (`ls-files -s -z`) the commit's entries replace."""
    named = commit.folders or (*commit.removed, *(path for _, _, path in commit.entries))
    if commit.folders or len(named) <= _FEW:
        listed = run(root, "ls-files", "-z", "-s", "--full-name", "--", *_top(named))
        return [line for line in listed.decode().split("\0") if line]
    # many paths: pathspecs are matched one by one, so list their folders and pick
    listed = run(root, "ls-files", "-z", "-s", "--full-name", "--", *_top(commit.scope))
    wanted = set(named)
    lines = listed.decode(errors="surrogateescape").split("\0")
    return [line for line in lines if line and line.split("\t", 1)[1] in wanted]


_FEW = 64


def _changes(listed: str, entries: Iterable[tuple[str, str, str]]) -> list[str]:
    """`update-index --index-info` lines turning the folders' entries in `listed`
    (`ls-files -z -s`) into `entries`: removals first, then the new and changed entries.
    Entries that stay as they are are left alone, so the index keeps their cached trees
    and `write-tree` rebuilds only the folders that change."""
    before: dict[str, str] = {}
    for line in listed.split("\0"):
        if line:
            meta, path = line.split("\t", 1)
            mode, sha, _ = meta.split(" ")
            before[path] = f"{mode} {sha}"
    after = {path: f"{mode} {sha}" for mode, sha, path in entries}
    info = [f"0 {'0' * 40}\t{p}" for p in before if p not in after]
    info += [f"{v}\t{p}" for p, v in after.items() if before.get(p) != v]
    return info


def _index_info(root: Path, lines: list[str]) -> None:
    run(root, "update-index", "-z", "--index-info",
        input=("\0".join(lines) + "\0").encode(), key="--commit")  # fmt: skip


def _top(paths: Iterable[str]) -> list[str]:
    """Pathspecs naming repository paths from the top, literally."""
    return [f":(top,literal){p}" for p in paths]
