"""The lock on a repository's `waves/`: one writer at a time.

Every command that writes a rollout (or anything else under `waves/`, such as the composed
fleet view) holds `waves/.wave-planner/lock` while it reads the state, decides and writes.
The lock file is created atomically with its content (written to a private file, then
hard-linked into place, which fails if a lock exists) and says who holds it: the command,
since when, the process id and the host.

A second writer waits a bounded time (`WAVE_PLANNER_LOCK_WAIT` seconds, default 10) for the
lock, then exits 1 with "locked by <command> since <time> (pid <pid>, host <host>)". A lock
whose process is gone (same host, no such process) is stale: it is reported, named, and
never broken silently: the user removes it after checking nothing is running.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from planner.errors import Refusal, UserError

PRIVATE_DIR = ".wave-planner"
LOCK_FILE = "lock"
_IGNORE = "# wave-planner's lock and staging area: never committed\n*\n"
WAIT_VARIABLE = "WAVE_PLANNER_LOCK_WAIT"
DEFAULT_WAIT = 10.0
_POLL = 0.05


@dataclass(frozen=True)
class Holder:
    """What a lock file says about who holds it."""

    command: str
    since: str
    pid: int
    host: str
    token: str = ""

    def describe(self) -> str:
        return f"{self.command} since {self.since} (pid {self.pid}, host {self.host})"


def private_dir(waves: Path) -> Path:
    """`waves/.wave-planner/` (the lock, the staging area), created with a `.gitignore` of
    `*` so nothing in it is ever added to a commit."""
    folder = waves / PRIVATE_DIR
    folder.mkdir(parents=True, exist_ok=True)
    ignore = folder / ".gitignore"
    if not ignore.is_file():
        ignore.write_text(_IGNORE, encoding="utf-8")
    return folder


def lock_path(waves: Path) -> Path:
    return waves / PRIVATE_DIR / LOCK_FILE


def read_holder(path: Path) -> Holder | None:
    """The holder a lock file names (None: no lock file; unreadable: an unknown holder)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError):
        return Holder("an unknown command", "an unknown time", 0, "an unknown host")
    if not isinstance(data, dict):
        return Holder("an unknown command", "an unknown time", 0, "an unknown host")
    pid = data.get("pid")
    return Holder(
        command=str(data.get("command", "an unknown command"))[:200],
        since=str(data.get("since", "an unknown time"))[:64],
        pid=pid if isinstance(pid, int) else 0,
        host=str(data.get("host", "an unknown host"))[:255],
        token=str(data.get("token", "")),
    )


def alive(holder: Holder) -> bool:
    """False only when the holder certainly is gone: this host, and no such process."""
    if holder.host != socket.gethostname() or holder.pid <= 0:
        return True
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return True
    return True


def wait_seconds() -> float:
    text = os.environ.get(WAIT_VARIABLE)
    if text is None or not text.strip():
        return DEFAULT_WAIT
    try:
        value = float(text)
    except ValueError:
        raise UserError.single(
            f"{text!r} is not a number of seconds", key=WAIT_VARIABLE, fix="e.g. 30, or 0"
        ) from None
    if not 0 <= value <= 86400:
        raise UserError.single(
            f"{text!r} is out of range", key=WAIT_VARIABLE, fix="0 to 86400 seconds"
        )
    return value


def _stale(path: Path, holder: Holder) -> Refusal:
    return Refusal(
        f"{path} is a stale lock: it was taken by {holder.describe()}, and that process no "
        "longer runs (it was killed or crashed). Nothing was changed. Check that no "
        f"wave-planner command is running on this repository, then remove {path} and run the "
        "command again (it completes or undoes any interrupted write first)"
    )


def _busy(path: Path, holder: Holder, waited: float) -> Refusal:
    return Refusal(
        f"locked by {holder.describe()}: another command is writing to "
        f"{path.parent} (waited {waited:g}s; set {WAIT_VARIABLE} to wait longer). Nothing "
        f"was changed. If no such command runs any more, remove {path}"
    )


def _try_create(path: Path, content: bytes) -> bool:
    """Create the lock file with its content in one step; False if a lock exists."""
    private = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        try:
            os.write(fd, content)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(private, path)
        except FileExistsError:
            return False
        return True
    finally:
        private.unlink(missing_ok=True)


@contextmanager
def hold(waves: Path, command: str, *, wait: float | None = None) -> Iterator[Holder]:
    """Hold the lock of `waves/` for the duration of the block (creating `waves/` if needed)."""
    had_waves = waves.is_dir()
    try:
        private_dir(waves)
    except OSError as exc:
        raise UserError.single(
            f"cannot create {waves}: {exc.strerror or exc}",
            key="--repo",
            fix="run the command on a writable work tree",
        ) from None
    path = lock_path(waves)
    me = Holder(
        command=command,
        since=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        pid=os.getpid(),
        host=socket.gethostname(),
        token=uuid.uuid4().hex,
    )
    content = (json.dumps(me.__dict__, indent=2) + "\n").encode()
    budget = wait_seconds() if wait is None else wait
    started = time.monotonic()
    while True:
        try:
            created = _try_create(path, content)
        except FileNotFoundError:
            private_dir(waves)  # another command tidied it away just now
            continue
        except OSError as exc:
            raise UserError.single(
                f"cannot create the lock {path}: {exc.strerror or exc}",
                key="--repo",
                fix="run the command on a writable work tree",
            ) from None
        if created:
            break
        holder = read_holder(path)
        if holder is None:
            continue  # released between our attempt and the read: try again at once
        if not alive(holder):
            raise _stale(path, holder)
        waited = time.monotonic() - started
        if waited >= budget:
            raise _busy(path, holder, budget)
        time.sleep(min(_POLL, max(0.0, budget - waited)))
    try:
        yield me
    finally:
        current = read_holder(path)
        if current is not None and current.token == me.token:
            path.unlink(missing_ok=True)
        _tidy(waves, had_waves)


def _tidy(waves: Path, had_waves: bool) -> None:
    """Leave no trace when there is nothing to keep: the private folder once it holds only
    its `.gitignore`, and `waves/` itself if this command created it and it is empty."""
    folder = waves / PRIVATE_DIR
    try:
        names = {p.name for p in folder.iterdir()}
        if names <= {".gitignore", "txn"}:
            if "txn" in names:
                (folder / "txn").rmdir()
            (folder / ".gitignore").unlink(missing_ok=True)
            folder.rmdir()
        if not had_waves:
            waves.rmdir()
    except OSError:
        return  # in use by another command, or not empty: keep it
