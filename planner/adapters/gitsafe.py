"""Running git without running anything the repository brings, and committing through plumbing.

Every git process the planner starts gets `SAFE_CONFIG`: hooks point to an empty place, no
fsmonitor, no external diff, no pager, no signing (so no `gpg.program`), no credential
helper, and an environment without the variables that would start programs (external diff,
pager, editor, ssh, askpass). Every filter driver the configuration defines is switched off
too (`filter_options`), and only plumbing commands are used.

`commit_folders` records a commit of some folders without touching the user's index or
running `git commit`: it hashes the files (`hash-object --no-filters`), builds a tree on a
temporary index (`read-tree`, `update-index --index-info`, `write-tree`), makes the commit
with `commit-tree`, and only then, separately, moves the branch (`update-ref` with the old
value, so a concurrent change is noticed) and updates those folders' entries in the user's
index. Signing happens only when asked (`sign=True`): the user's configured key, with the
standard `gpg`/`ssh-keygen` from PATH, never a program named by the repository.
"""

from __future__ import annotations

import contextlib
import functools
import os
import subprocess
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from planner.errors import UserError

SAFE_OPTIONS: tuple[str, ...] = (
    f"core.hooksPath={os.devnull}",
    "core.fsmonitor=false",
    "core.untrackedCache=false",
    "core.quotepath=false",
    "core.pager=cat",
    "diff.external=",
    "commit.gpgSign=false",
    "tag.gpgSign=false",
    "gpg.program=false",
    "gpg.ssh.program=false",
    "gpg.x509.program=false",
    "credential.helper=",
    "core.sshCommand=false",
    "protocol.allow=never",
)
SIGNING_OPTIONS: tuple[str, ...] = (
    "gpg.program=gpg",
    "gpg.ssh.program=ssh-keygen",
    "gpg.x509.program=gpgsm",
)
SAFE_CONFIG: tuple[str, ...] = tuple(arg for option in SAFE_OPTIONS for arg in ("-c", option))
_DROPPED_ENV = (
    "GIT_EXTERNAL_DIFF",
    "GIT_PAGER",
    "PAGER",
    "GIT_EDITOR",
    "GIT_SEQUENCE_EDITOR",
    "GIT_SSH",
    "GIT_SSH_COMMAND",
    "GIT_ASKPASS",
    "SSH_ASKPASS",
    "GIT_INDEX_FILE",
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_PROXY_COMMAND",
    "GIT_TRACE",
    "GIT_TRACE2",
    "GIT_TRACE2_EVENT",
    "GIT_TRACE2_PERF",
)


def safe_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _DROPPED_ENV}
    env.update(GIT_TERMINAL_PROMPT="0", GIT_OPTIONAL_LOCKS="0")
    if extra:
        env.update(extra)
    return env


@functools.lru_cache(maxsize=32)
def filter_options(root: Path) -> tuple[str, ...]:
    """`-c` options that switch off every filter driver the configuration defines (clean,
    smudge and long-running process filters run when git hashes or compares work-tree
    files, e.g. racily clean index entries): an empty command means no filter."""
    proc = subprocess.run(
        ["git", "-C", str(root), "config", "--name-only", "--get-regexp", r"^filter\."],
        capture_output=True,
        env=safe_env(),
        check=False,
    )
    names = set()
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.count(".") >= 2:
            names.add(line[len("filter.") :].rsplit(".", 1)[0])
    out: list[str] = []
    for name in sorted(names):
        for var, value in (("clean", ""), ("smudge", ""), ("process", ""), ("required", "false")):
            out += ["-c", f"filter.{name}.{var}={value}"]
    return tuple(out)


def run(
    root: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    signing: bool = False,
    key: str = "--repo",
) -> bytes:
    """One git command in `root` with the safe configuration; a UserError if it fails."""
    config = [*SAFE_CONFIG, *filter_options(root)]
    if signing:
        config += [arg for option in SIGNING_OPTIONS for arg in ("-c", option)]
    proc = subprocess.run(
        ["git", "-C", str(root), *config, *args],
        input=input,
        capture_output=True,
        env=safe_env(env),
        check=False,
    )
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise UserError.single(
            f"git {args[0]} failed: {message[:2000]}",
            key=key,
            fix="nothing was changed; fix the git configuration (user.name, user.email, a "
            "branch checked out) or commit the rollout's files yourself",
        )
    return proc.stdout


@dataclass(frozen=True)
class PreparedCommit:
    """A commit object made but not yet on the branch."""

    root: Path
    sha: str
    parent: str | None
    ref: str
    entries: tuple[tuple[str, str, str], ...]  # (mode, blob sha, path) of the folders
    folders: tuple[str, ...]


def prepare_commit(
    root: Path,
    folders: Mapping[str, Path],
    message: str,
    *,
    sign: bool = False,
) -> PreparedCommit:
    """A commit of HEAD with `folders` (repository path -> folder holding its new content).

    Nothing visible changes: the objects are written, the branch and the index are not.
    """
    head = run(root, "rev-parse", "--verify", "--quiet", "HEAD", key="--commit").strip()
    ref = run(root, "symbolic-ref", "--quiet", "HEAD", key="--commit").decode().strip()
    parent = head.decode() or None
    prefix = run(root, "rev-parse", "--show-prefix").decode().strip()
    folders = {prefix + path: source for path, source in folders.items()}
    entries: list[tuple[str, str, str]] = []
    for repo_path, source in sorted(folders.items()):
        files = sorted(
            p for p in source.rglob("*") if (p.is_file() or p.is_symlink()) and p != source
        )
        regular = [p for p in files if not p.is_symlink()]
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
        for path in files:
            rel = f"{repo_path}/{path.relative_to(source).as_posix()}"
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
        listed = run(root, "ls-files", "-z", "--full-name", "--", *_top(folders), env=env).decode()
        info = [f"0 {'0' * 40}\t{p}" for p in listed.split("\0") if p]
        info += [f"{mode} {sha}\t{path}" for mode, sha, path in entries]
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
    args = ["commit-tree", tree, "-F", "-"]
    if parent:
        args += ["-p", parent]
    args += ["-S"] if sign else ["--no-gpg-sign"]
    sha = run(root, *args, input=message.encode(), signing=sign, key="--commit").decode().strip()
    return PreparedCommit(root, sha, parent, ref, tuple(entries), tuple(sorted(folders)))


def publish(commit: PreparedCommit) -> None:
    """Stage the committed folders in the user's index, then move the branch to the commit
    (only from the parent it was made on). If the branch cannot move, the index entries are
    put back: nothing changed. A crash between the two leaves the step staged, not lost."""
    root = commit.root
    listed = run(root, "ls-files", "-z", "-s", "--full-name", "--", *_top(commit.folders))
    before = [line for line in listed.decode().split("\0") if line]
    paths = [line.split("\t", 1)[1] for line in before]
    forget = [f"0 {'0' * 40}\t{p}" for p in paths]
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


def _index_info(root: Path, lines: list[str]) -> None:
    run(root, "update-index", "-z", "--index-info",
        input=("\0".join(lines) + "\0").encode(), key="--commit")  # fmt: skip


def _top(paths: Iterable[str]) -> list[str]:
    """Pathspecs naming repository paths from the top, literally."""
    return [f":(top,literal){p}" for p in paths]
