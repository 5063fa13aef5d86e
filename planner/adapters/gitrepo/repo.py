"""Git access: revisions, the change between two of them, and snapshots of their files.

`git rev-parse` finds the repository (from its folder or any folder inside it) and `git
config` reads its configuration; every git command runs through
`planner.adapters.gitrepo.process` (the safe configuration). File contents
are read straight from git objects (`ls-tree` once per revision, blobs through one
`git cat-file --batch` process per bulk read), so no checkout is ever needed and nothing
in the repository is executed (no hooks, no diff drivers, no textconv). Errors a user can
fix (not a repository, an unknown revision, a shallow clone missing the base) become
`UserError`s that say how.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from planner.adapters.directory import DirectorySnapshot
from planner.adapters.gitrepo import rawdiff
from planner.adapters.gitrepo.process import ObjectReader, Where, call, config_value
from planner.adapters.gitrepo.snapshot import GitSnapshot
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.errors import UserError


class GitRepo:
    """A local git repository opened read-only."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise UserError.single(
                f"{self.path} does not exist",
                key="--repo",
                fix="pass the fleet repository's folder",
            )
        self.git_dir, self.work_tree = _discover(self.path)
        self.prefix = self._prefix()
        self._where = Where(self.work_tree or self.git_dir, self.git_dir)
        self._objects = ObjectReader(self._where)

    def _prefix(self) -> str:
        if self.work_tree is None:
            return ""
        rel = os.path.relpath(self.path.resolve(), self.work_tree.resolve())
        return "" if rel == "." else rel.replace(os.sep, "/")

    # ---- plumbing ------------------------------------------------------------------
    def git(self, *args: str, input: bytes | None = None, check: bool = True) -> bytes:
        proc = call(self._where, *args, input=input)
        if check and proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip()
            raise UserError.single(f"git {args[0]} failed: {message}", key="--repo")
        return proc.stdout

    def is_shallow(self) -> bool:
        return (self.git_dir / "shallow").exists()

    # ---- revisions -----------------------------------------------------------------
    def resolve(self, rev: str, option: str) -> str:
        """The full commit SHA of `rev`, or a UserError that says how to get it."""
        if rev.startswith("-") or not rev.strip():
            raise UserError.single(f"{rev!r} is not a revision", key=option)
        out = self.git(
            "rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}", check=False
        )
        sha = out.decode(errors="replace").strip()
        if len(sha) == 40:
            return sha
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
        for candidate in ("origin/HEAD", "origin/main", "origin/master", "main", "master"):
            out = self.git("merge-base", candidate, head, check=False)
            base = out.decode(errors="replace").strip()
            if len(base) == 40:
                return base
        fix = "pass --base (for example --base origin/main)"
        if self.is_shallow():
            fix += "; this is a shallow clone: `git fetch --unshallow` or `fetch-depth: 0`"
        raise UserError.single(
            "cannot find the default branch to compare with", key="--base", fix=fix
        )

    def is_ancestor(self, ancestor: str, rev: str) -> bool:
        """Whether `ancestor` is an ancestor of `rev` (a UserError when git cannot tell)."""
        proc = call(self._where, "merge-base", "--is-ancestor", ancestor, rev)
        if proc.returncode not in (0, 1):
            message = proc.stderr.decode(errors="replace").strip()
            raise UserError.single(f"git merge-base failed: {message}", key="--repo")
        return proc.returncode == 0

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
        """`remote.origin.url` as git reads it, or None."""
        return config_value(self._where.root, "remote.origin.url")

    def user_name(self) -> str | None:
        return config_value(self._where.root, "user.name")

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
        return rawdiff.parse(self._raw_diff(base, head), self.prefix)

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
        changes = list(rawdiff.parse(self._raw_diff(base), self.prefix).changes)
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
        return self._objects.read(sha)

    def close(self) -> None:
        self._objects.close()

    def read_blobs(self, shas: Iterable[str]) -> dict[str, bytes]:
        """Many blobs through one `git cat-file --batch` process."""
        return self._objects.read_many(shas)


def _discover(path: Path) -> tuple[Path, Path | None]:
    """The git folder and the work tree (None for a bare repository) of the repository
    holding `path` (the folder itself or any folder above it), or a UserError."""
    found = call(
        path, "rev-parse", "--absolute-git-dir", "--is-inside-work-tree", "--show-toplevel",
        filters=False,
    )  # fmt: skip
    lines = found.stdout.decode(errors="surrogateescape").splitlines()
    if found.returncode == 0 and len(lines) == 3 and lines[1] == "true":
        return Path(lines[0]).resolve(), Path(lines[2]).resolve()
    bare = call(path, "rev-parse", "--absolute-git-dir", filters=False)
    lines = bare.stdout.decode(errors="surrogateescape").splitlines()
    if bare.returncode == 0 and len(lines) == 1:
        return Path(lines[0]).resolve(), None
    message = bare.stderr.decode(errors="replace").strip()
    if "dubious ownership" in message:  # git's own words say what to do
        raise UserError.single(f"{path}: {message[:500]}", key="--repo")
    raise UserError.single(
        f"{path} is not a git repository",
        key="--repo",
        fix="pass the folder of a git clone of the fleet repository",
    )
