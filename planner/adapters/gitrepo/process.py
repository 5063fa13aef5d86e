"""Running git without running anything the repository brings.

Every git process the planner starts goes through `call` (or `run`, `ObjectReader`) and
gets `SAFE_CONFIG`: hooks point to an empty place, no fsmonitor, no external diff, no
pager, no signing (so no `gpg.program`), no credential helper, and an environment without
the variables that would start programs (external diff, pager, editor, ssh, askpass).
Every filter driver the configuration defines is switched off too (`filter_options`).
`isolated=True` also leaves out the user's and the system's configuration and every `GIT_*`
variable (the demo repository, whose commits must be the same everywhere). Signing programs
are the standard ones (`gpg`, `ssh-keygen`, `gpgsm` from PATH) and only when asked.
"""

from __future__ import annotations

import functools
import io
import os
import subprocess
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

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
    "GIT_CONFIG_PARAMETERS",
    "GIT_CONFIG_COUNT",
)


def safe_env(extra: Mapping[str, str] | None = None, *, isolated: bool = False) -> dict[str, str]:
    if isolated:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
        env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    else:
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


@dataclass(frozen=True)
class Where:
    """Where git runs: `-C root`, or with `git_dir` as `--git-dir` (run from `root`)."""

    root: Path
    git_dir: Path | None = None

    def command(self, config: Iterable[str]) -> list[str]:
        if self.git_dir is not None:
            return ["git", f"--git-dir={self.git_dir}", *config]
        return ["git", "-C", str(self.root), *config]


def _config(where: Where, signing: bool, filters: bool = True) -> list[str]:
    config = [*SAFE_CONFIG]
    if filters:
        config += filter_options(where.git_dir or where.root)
    if signing:
        config += [arg for option in SIGNING_OPTIONS for arg in ("-c", option)]
    return config


def call(
    where: Path | Where,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    signing: bool = False,
    isolated: bool = False,
    filters: bool = True,
) -> subprocess.CompletedProcess[bytes]:
    """One git command with the safe configuration; its exit code and output, whatever
    they are. `filters=False` skips switching off filter drivers (a command that reads no
    work-tree file: one process less)."""
    place = where if isinstance(where, Where) else Where(where)
    return subprocess.run(
        [*place.command(_config(place, signing, filters)), *args],
        input=input,
        capture_output=True,
        stdin=None if input is not None else subprocess.DEVNULL,
        env=safe_env(env, isolated=isolated),
        check=False,
        cwd=place.root if place.git_dir is not None else None,
    )


_COMMIT_FIX = (
    "nothing was changed; fix the git configuration (user.name, user.email, a "
    "branch checked out) or commit the rollout's files yourself"
)


def run(
    root: Path,
    *args: str,
    input: bytes | None = None,
    env: Mapping[str, str] | None = None,
    signing: bool = False,
    key: str = "--repo",
) -> bytes:
    """One git command in `root` with the safe configuration; a UserError if it fails."""
    proc = call(root, *args, input=input, env=env, signing=signing)
    if proc.returncode != 0:
        message = proc.stderr.decode(errors="replace").strip()
        raise UserError.single(f"git {args[0]} failed: {message[:2000]}", key=key, fix=_COMMIT_FIX)
    return proc.stdout


def read_object(stream: IO[bytes]) -> bytes | None:
    """The next object of `git cat-file --batch` output (None when git says it is missing)."""
    header = stream.readline().split()
    if len(header) < 3 or header[1] == b"missing":
        return None
    data = stream.read(int(header[2]) + 1)
    return data[:-1]


class ObjectReader:
    """Git objects by SHA: a persistent `git cat-file --batch` for one object at a time, and
    one `git cat-file --batch` process per bulk read."""

    def __init__(self, where: Where) -> None:
        self.where = where
        self._cat: subprocess.Popen[bytes] | None = None

    def read(self, sha: str) -> bytes | None:
        if self._cat is None:
            self._cat = subprocess.Popen(
                [*self.where.command(_config(self.where, False)), "cat-file", "--batch"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                env=safe_env(),
            )
        assert self._cat.stdin is not None and self._cat.stdout is not None
        self._cat.stdin.write(sha.encode() + b"\n")
        self._cat.stdin.flush()
        return read_object(self._cat.stdout)

    def read_many(self, shas: Iterable[str]) -> dict[str, bytes]:
        wanted = list(dict.fromkeys(shas))
        if not wanted:
            return {}
        if len(wanted) == 1:
            data = self.read(wanted[0])
            return {} if data is None else {wanted[0]: data}
        proc = call(self.where, "cat-file", "--batch", input=("\n".join(wanted) + "\n").encode())
        if proc.returncode != 0:
            message = proc.stderr.decode(errors="replace").strip()
            raise UserError.single(f"git cat-file failed: {message}", key="--repo")
        stream = io.BytesIO(proc.stdout)
        blobs: dict[str, bytes] = {}
        for sha in wanted:
            data = read_object(stream)
            if data is not None:
                blobs[sha] = data
        return blobs

    def close(self) -> None:
        if self._cat is not None:
            if self._cat.stdin is not None:
                self._cat.stdin.close()
            self._cat.wait()
            self._cat = None


def config_value(root: Path, name: str) -> str | None:
    """One configuration value as git reads it (includes and all), or None."""
    proc = call(root, "config", "--get", name, filters=False)
    value = proc.stdout.decode(errors="replace").strip() if proc.returncode == 0 else ""
    return value or None
