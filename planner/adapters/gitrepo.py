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

    def branch_of(self, rev: str) -> str | None:
        """The branch a revision names (`main` for `main`, `origin/main` or a checked-out
        `HEAD`), or None for a commit, a tag or a detached HEAD."""
        out = self.git("rev-parse", "--symbolic-full-name", rev, "--", check=False)
        name = out.decode(errors="replace").split("\n", 1)[0].strip()
        for prefix in ("refs/heads/", "refs/remotes/"):
            if name.startswith(prefix):
                rest = name[len(prefix) :]
                return rest.split("/", 1)[1] if prefix == "refs/remotes/" and "/" in rest else rest
        return None

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
    def merge_base(self, base: str, head: str) -> str:
        """The best common ancestor of two commits (what a pull request is compared with)."""
        out = self.git("merge-base", base, head, check=False).decode().strip()
        if len(out) == 40:
            return out
        fix = "pass --two-dot to compare the two revisions as given"
        if self.is_shallow():
            fix = (
                "this is a shallow clone: fetch more history (`git fetch --unshallow`; in "
                "GitHub Actions set `fetch-depth: 0`), or " + fix
            )
        raise UserError.single(
            f"revisions {base[:12]} and {head[:12]} have no common ancestor", key="--base", fix=fix
        )

    def diff(self, base: str, head: str) -> ChangeSet:
        """Changed paths between two commits, with renames detected.

        Plumbing with NUL-separated paths (`git diff --raw -z -M`): a file name holding a
        newline, a tab or quotes is one path and hides nothing after it. No external diff
        driver, no textconv, no color."""
        return _raw_changes(self._raw_diff(base, head), self.prefix)

    def _raw_diff(self, *revs: str) -> bytes:
        return self.git(
            "diff",
            "--raw",
            "-z",
            "-M",
            "--no-abbrev",
            "--no-ext-diff",
            "--no-textconv",
            "--no-color",
            "--ignore-submodules=none",
            *revs,
            "--",
        )

    def worktree_diff(self, base: str) -> ChangeSet:
        """Uncommitted changes (staged, unstaged and untracked) against `base`."""
        changes = list(_raw_changes(self._raw_diff(base), self.prefix).changes)
        out = self.git("ls-files", "-z", "--others", "--exclude-standard", "--full-name")
        untracked = [p for p in out.decode("utf-8", errors="surrogateescape").split("\0") if p]
        for path in sorted(untracked):
            if not self.prefix or path.startswith(self.prefix + "/"):
                rel = path[len(self.prefix) + 1 :] if self.prefix else path
                changes.append(Change(path=rel, status=ChangeStatus.ADDED))
        return ChangeSet(changes=tuple(sorted(changes, key=lambda c: (c.path, c.status))))

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


def _raw_changes(out: bytes, prefix: str) -> ChangeSet:
    """`git diff --raw -z` output as a ChangeSet (a mode-only change is its own kind)."""
    tokens = out.decode("utf-8", errors="surrogateescape").split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        i += 1
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split(" ", 4)
        letter = status[:1]
        if letter in "RC":
            old_path, path = tokens[i], tokens[i + 1]
            i += 2
            if letter == "R":
                changes.append(Change(path=path, status=ChangeStatus.RENAMED, old_path=old_path))
            else:
                changes.append(Change(path=path, status=ChangeStatus.ADDED))
            continue
        path = tokens[i]
        i += 1
        kind = _KINDS.get(letter, ChangeStatus.MODIFIED)
        if kind == ChangeStatus.MODIFIED and old_sha == new_sha and old_mode != new_mode:
            kind = ChangeStatus.MODE_ONLY
        changes.append(Change(path=path, status=kind))
    if prefix:
        changes = [_strip_prefix(c, prefix) for c in changes if c.path.startswith(prefix + "/")]
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
