"""Git access: revisions, the change between two of them, and snapshots of their files.

gitpython opens the repository and resolves revisions; file contents are read straight
from git objects (`ls-tree` once per revision, blobs through one `git cat-file --batch`
process per bulk read), so no checkout is ever needed and nothing in the repository is
executed (no hooks, no diff drivers, no textconv). Errors a user can fix (not a repository,
an unknown revision, a shallow clone missing the base) become `UserError`s that say how.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from planner import snapshot as snap_mod
from planner.adapters.files import DirectorySnapshot
from planner.adapters.gitsafe import SAFE_CONFIG, SAFE_OPTIONS, filter_options, safe_env
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.errors import UserError

SYMLINK_MODE = "120000"
_SAFE_OPTIONS = SAFE_OPTIONS  # no hooks, fsmonitor, external diff, pager, signing program
_SAFE_CONFIG = SAFE_CONFIG


@dataclass(frozen=True)
class _Entry:
    mode: str
    sha: str


class GitRepo:
    """A local git repository opened read-only."""

    def __init__(self, path: str | Path) -> None:
        import git  # gitpython, imported here so `--help` starts fast

        self.path = Path(path)
        if not self.path.exists():
            raise UserError.single(
                f"{self.path} does not exist",
                key="--repo",
                fix="pass the fleet repository's folder",
            )
        try:
            self.repo: Any = git.Repo(self.path, search_parent_directories=True)
        except (git.InvalidGitRepositoryError, git.NoSuchPathError):
            raise UserError.single(
                f"{self.path} is not a git repository",
                key="--repo",
                fix="pass the folder of a git clone of the fleet repository",
            ) from None
        self.git_dir = Path(self.repo.git_dir).resolve()
        # Plumbing only: no hook, pager, diff driver, textconv, fsmonitor or filter.
        filters = filter_options(self.git_dir)
        self._safe = (*_SAFE_CONFIG, *filters)
        self.repo.git.set_persistent_git_options(c=[*_SAFE_OPTIONS, *filters[1::2]])
        tree = self.repo.working_tree_dir
        self.work_tree = Path(tree).resolve() if tree else None
        self.prefix = self._prefix()
        self._cat: subprocess.Popen[bytes] | None = None

    def _prefix(self) -> str:
        if self.work_tree is None:
            return ""
        rel = os.path.relpath(self.path.resolve(), self.work_tree.resolve())
        return "" if rel == "." else rel.replace(os.sep, "/")

    # ---- plumbing ------------------------------------------------------------------
    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        env = safe_env()
        proc = subprocess.run(
            ["git", f"--git-dir={self.git_dir}", *self._safe, *args],
            input=input,
            capture_output=True,
            env=env,
            check=False,
            cwd=self.work_tree or self.git_dir,
        )
        if check and proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip()
            raise UserError.single(f"git {args[0]} failed: {message}", key="--repo")
        return proc.stdout

    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").exists()

    # ---- revisions -----------------------------------------------------------------
    def resolve(self, rev: str, option: str) -> str:
        """The full commit SHA of `rev`, or a UserError that says how to get it."""
        from git import GitCommandError

        if rev.startswith("-") or not rev.strip():
            raise UserError.single(f"{rev!r} is not a revision", key=option)
        try:
            sha = self.repo.git.rev_parse(
                "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"
            )
        except GitCommandError:
            sha = ""
        if len(sha) == 40:
            return str(sha)
        fix = "check the name with `git log --oneline`"
        if self.is_shallow():
            fix = (
                "this is a shallow clone: fetch more history (`git fetch --deepen=50` or "
                "`git fetch --unshallow`; in GitHub Actions set `fetch-depth: 0`)"
            )
        raise UserError.single(
            f"revision {rev!r} does not exist in {self.path}", key=option, fix=fix
        )

    def default_base(self, head: str) -> str:
        """The merge base of `head` with the default branch."""
        from git import GitCommandError

        for candidate in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
            try:
                bases = self.repo.merge_base(candidate, head)
            except GitCommandError:
                continue
            if bases:
                return str(bases[0].hexsha)
        fix = "pass --base (for example --base origin/main)"
        if self.is_shallow():
            fix += "; this is a shallow clone: `git fetch --unshallow` or `fetch-depth: 0`"
        raise UserError.single(
            "cannot find the default branch to compare with", key="--base", fix=fix
        )

    def head_sha(self) -> str:
        return self.resolve("HEAD", "--head")

    def origin_url(self) -> str | None:
        try:
            return str(self.repo.remotes.origin.url) or None
        except (AttributeError, IndexError, ValueError):
            return None

    def user_name(self) -> str | None:
        value = self.repo.config_reader().get_value("user", "name", "")
        return str(value) or None

    # ---- changes -------------------------------------------------------------------
    def diff(self, base: str, head: str) -> ChangeSet:
        """Changed paths between two commits, with renames detected (gitpython)."""
        entries = self.repo.commit(base).diff(head, M=True, no_ext_diff=True, no_textconv=True)
        return _changes(entries, self.prefix)

    def worktree_diff(self, base: str) -> ChangeSet:
        """Uncommitted changes (staged, unstaged and untracked) against `base`.

        Computed here, not by `git diff`/`git status`: the files on disk are hashed as git
        blobs as they are (no clean filter, no fsmonitor, no index refresh and so no
        `post-index-change` hook), and compared with `base`'s tree. Exact renames are
        recognised by content.
        """
        if self.work_tree is None:
            raise UserError.single(
                "--worktree needs a repository with a working tree", key="--worktree"
            )
        root = self.work_tree / self.prefix if self.prefix else self.work_tree
        before = {p: e for p, e in GitSnapshot(self, base)._entries.items() if e.mode != "160000"}
        now: dict[str, _Entry] = {}
        for rel in self._worktree_paths():
            entry = _disk_entry(root / rel)
            if entry is not None:
                now[rel] = entry
        return _compare(before, now)

    def _worktree_paths(self) -> list[str]:
        out = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        paths = [p for p in out.decode(errors="replace").split("\0") if p]
        if self.prefix:
            paths = [p[len(self.prefix) + 1 :] for p in paths if p.startswith(self.prefix + "/")]
        return sorted(set(paths))

    # ---- snapshots -----------------------------------------------------------------
    def snapshot(self, rev: str) -> GitSnapshot:
        return GitSnapshot(self, rev)

    def worktree_snapshot(self) -> DirectorySnapshot:
        """The working tree's files (tracked and untracked, not ignored), read from disk."""
        if self.work_tree is None:
            raise UserError.single(
                "--worktree needs a repository with a working tree", key="--worktree"
            )
        root = self.work_tree / self.prefix if self.prefix else self.work_tree
        out = self.git("ls-files", "-z", "--cached", "--others", "--exclude-standard")
        paths = [p for p in out.decode(errors="replace").split("\0") if p]
        if self.prefix:
            paths = [p[len(self.prefix) + 1 :] for p in paths if p.startswith(self.prefix + "/")]
        return DirectorySnapshot(root, paths)

    def read_blob(self, sha: str) -> bytes | None:
        """One blob through the persistent `git cat-file --batch` process."""
        if self._cat is None:
            self._cat = subprocess.Popen(
                ["git", f"--git-dir={self.git_dir}", *self._safe, "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=safe_env(),
            )
        assert self._cat.stdin is not None and self._cat.stdout is not None
        self._cat.stdin.write(sha.encode() + b"\n")
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        if len(header) < 3 or header[1] == b"missing":
            return None
        data = self._cat.stdout.read(int(header[2]) + 1)
        return data[:-1]

    def close(self) -> None:
        if self._cat is not None:
            if self._cat.stdin is not None:
                self._cat.stdin.close()
            self._cat.wait()
            self._cat = None

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Many blobs through one `git cat-file --batch` process."""
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        if len(wanted) == 1:
            data = self.read_blob(wanted[0])
            return {} if data is None else {wanted[0]: data}
        out = self.git("cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
        blobs: dict[str, bytes] = {}
        pos = 0
        for sha in wanted:
            end = out.index(b"\n", pos)
            header = out[pos:end].split()
            pos = end + 1
            if len(header) < 3 or header[1] == b"missing":
                continue
            size = int(header[2])
            blobs[sha] = out[pos : pos + size]
            pos += size + 1
        return blobs


_KINDS = {
    "A": ChangeStatus.ADDED,
    "C": ChangeStatus.ADDED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "T": ChangeStatus.TYPE_CHANGED,
}


def _changes(entries: Iterable[Any], prefix: str) -> ChangeSet:
    """gitpython diff entries as a ChangeSet (a mode-only change is its own kind)."""
    changes: list[Change] = []
    for entry in entries:
        letter = (entry.change_type or "M")[0]
        if letter == "R":
            changes.append(
                Change(path=entry.b_path, status=ChangeStatus.RENAMED, old_path=entry.a_path)
            )
            continue
        path = entry.b_path if letter in "AC" else (entry.a_path or entry.b_path)
        kind = _KINDS.get(letter, ChangeStatus.MODIFIED)
        same_blob = (
            entry.a_blob is not None
            and entry.b_blob is not None
            and (entry.a_blob.hexsha == entry.b_blob.hexsha)
        )
        if kind == ChangeStatus.MODIFIED and same_blob and entry.a_mode != entry.b_mode:
            kind = ChangeStatus.MODE_ONLY
        changes.append(Change(path=path, status=kind))
    if prefix:
        changes = [_strip_prefix(c, prefix) for c in changes if c.path.startswith(prefix + "/")]
    return ChangeSet(changes=tuple(sorted(changes, key=lambda c: (c.path, c.status))))


def _disk_entry(path: Path) -> _Entry | None:
    """A file on disk as git would store it, without any filter (None: not a file)."""
    import hashlib

    try:
        if path.is_symlink():
            data, mode = os.fsencode(os.readlink(path)), SYMLINK_MODE
        elif path.is_file():
            data = path.read_bytes()
            mode = "100755" if os.access(path, os.X_OK) else "100644"
        else:
            return None
    except OSError:
        return None
    sha = hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()
    return _Entry(mode, sha)


def _compare(before: dict[str, _Entry], now: dict[str, _Entry]) -> ChangeSet:
    changes: list[Change] = []
    added = sorted(set(now) - set(before))
    deleted = sorted(set(before) - set(now))
    gone_by_sha: dict[str, list[str]] = {}
    for path in deleted:
        gone_by_sha.setdefault(before[path].sha, []).append(path)
    renamed_from: set[str] = set()
    for path in added:
        sources = gone_by_sha.get(now[path].sha)
        if sources:
            old = sources.pop(0)
            renamed_from.add(old)
            changes.append(Change(path=path, status=ChangeStatus.RENAMED, old_path=old))
        else:
            changes.append(Change(path=path, status=ChangeStatus.ADDED))
    changes += [
        Change(path=p, status=ChangeStatus.DELETED) for p in deleted if p not in renamed_from
    ]
    for path in sorted(set(before) & set(now)):
        was, new = before[path], now[path]
        if was.sha != new.sha:
            kind = ChangeStatus.MODIFIED
            if (was.mode == SYMLINK_MODE) != (new.mode == SYMLINK_MODE):
                kind = ChangeStatus.TYPE_CHANGED
            changes.append(Change(path=path, status=kind))
        elif was.mode != new.mode:
            changes.append(Change(path=path, status=ChangeStatus.MODE_ONLY))
    return ChangeSet(changes=tuple(sorted(changes, key=lambda c: (c.path, c.status))))


def _strip_prefix(change: Change, prefix: str) -> Change:
    cut = len(prefix) + 1
    old = (
        change.old_path[cut:]
        if change.old_path and change.old_path.startswith(prefix + "/")
        else None
    )
    return change.model_copy(update={"path": change.path[cut:], "old_path": old})


class GitSnapshot(snap_mod.IndexedSnapshot):
    """The files of one commit, read from git objects."""

    def __init__(self, repo: GitRepo, rev: str) -> None:
        self.repo = repo
        self._revision = rev
        self._entries: dict[str, _Entry] = {}
        tree = f"{rev}:{repo.prefix}" if repo.prefix else rev
        out = repo.git("ls-tree", "-r", "-z", "--full-tree", tree)
        for record in out.decode(errors="replace").split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            if kind == "blob":
                self._entries[path] = _Entry(mode, sha)
        self._index = snap_mod.DirectoryIndex(self._entries)
        self._ahead: threading.Thread | None = None
        self._read_ahead: dict[str, bytes] = {}
        self._links: dict[str, str] = {}
        link_shas = [e.sha for e in self._entries.values() if e.mode == SYMLINK_MODE]
        if link_shas:
            blobs = repo.read_blobs(link_shas)
            self._links = {
                p: blobs.get(e.sha, b"").decode(errors="replace")
                for p, e in self._entries.items()
                if e.mode == SYMLINK_MODE
            }

    def _has_file(self, path: str) -> bool:
        return path in self._entries

    @property
    def revision(self) -> str:
        return self._revision

    def files(self) -> Iterable[str]:
        return (p for p, e in self._entries.items() if e.mode != SYMLINK_MODE)

    def read(self, path: str) -> bytes | None:
        entry = self._entries.get(path)
        if entry is None or entry.mode == SYMLINK_MODE:
            return None
        return self.repo.read_blob(entry.sha)

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = {p: e.sha for p in paths if (e := self._entries.get(p)) and e.mode != SYMLINK_MODE}
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None
        ready = self._read_ahead
        blobs = self.repo.read_blobs(sha for sha in wanted.values() if sha not in ready)
        blobs.update((sha, ready[sha]) for sha in wanted.values() if sha in ready)
        return {p: blobs[sha] for p, sha in wanted.items() if sha in blobs}

    def read_ahead(self, paths: Iterable[str]) -> None:
        """Start reading these files in the background (one `git cat-file --batch`), so the
        I/O overlaps with other work; `read_many` then takes them from memory."""
        shas = [e.sha for p in paths if (e := self._entries.get(p)) and e.mode != SYMLINK_MODE]
        if len(shas) < 2 or self._ahead is not None:
            return

        def work() -> None:
            self._read_ahead = self.repo.read_blobs(shas)

        self._ahead = threading.Thread(target=work, name="git-read-ahead", daemon=True)
        self._ahead.start()

    def blob_id(self, path: str) -> str | None:
        entry = self._entries.get(path)
        return entry.sha if entry else None
