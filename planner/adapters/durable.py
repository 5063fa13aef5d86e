"""Durable file writes: new files beside their targets, and one sync for many files.

The low-level steps `planner.adapters.files` builds its atomic writes from: a temporary
file opened next to its target, a new file's bytes written with mode 0644, a hidden
folder beside a new output folder, and a flush of the file system (Linux `syncfs`, else
an `fsync` of each path).
"""

from __future__ import annotations

import os
import secrets
import tempfile
from pathlib import Path


def temporary(folder: Path, name: str, token: str | None) -> tuple[int, str]:
    """A new file `.<name>.<random>.tmp` beside its target, opened for writing: as
    `tempfile.mkstemp` makes one, or with `token` (one random part for a whole batch) as
    its random part; a name taken by another writer falls back to `mkstemp`."""
    if token is None:
        return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)
    tmp = os.path.join(folder, f".{name}.{token}.tmp")
    try:
        return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600), tmp
    except FileExistsError:
        return tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=folder)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


FEW_PATHS = 64  # up to this many, an fsync of each: `syncfs` waits for every writer's data


def sync(anchor: Path, paths: list[str]) -> None:
    """Flush `paths` (files and the folders whose entries changed): an `fsync` of each when
    they are few, else one flush of the file system holding `anchor` (Linux `syncfs`, where
    it is available). A rollout step writes a handful of files; `syncfs` would also wait for
    everything any other process left unwritten on that disk (seconds on a busy one)."""
    unique = list(dict.fromkeys(paths))
    if len(unique) > FEW_PATHS and _syncfs(anchor):
        return
    for path in unique:
        sync_folder(path)  # a file or a folder


def _syncfs(anchor: Path) -> bool:
    try:
        import ctypes

        syncfs = ctypes.CDLL(None, use_errno=True).syncfs  # Linux: libc of this process
    except (OSError, AttributeError):
        return False
    fd = os.open(anchor, os.O_RDONLY)
    try:
        return bool(syncfs(fd) == 0)
    finally:
        os.close(fd)


def new_folder(out: Path) -> Path:
    """An empty hidden folder `.<name>.<random>.tmp` beside `out` (mode as `mkdir` gives)."""
    for _ in range(100):
        staging = out.parent / f".{out.name}.{secrets.token_hex(4)}.tmp"
        try:
            staging.mkdir()
        except FileExistsError:
            continue
        return staging
    raise FileExistsError(f"no free temporary name beside {out}")


def write_file(path: Path, data: bytes, *, sync: bool = False) -> None:
    """A new file (never an existing one, never through a link) holding `data`, mode 0644."""
    fill(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600), data, sync=sync)


def fill(fd: int, data: bytes, *, sync: bool = False) -> None:
    """Write `data` to a new file's descriptor (mode 0644), optionally `fsync`, close it."""
    try:
        os.fchmod(fd, 0o644)
    except BaseException:
        os.close(fd)
        raise
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
        if sync:
            handle.flush()
            os.fsync(handle.fileno())


def sync_folder(folder: Path | str) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
