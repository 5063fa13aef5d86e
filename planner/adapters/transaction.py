"""Writing under `waves/` as one transaction: every file of a step changes, or none does.

A step of a rollout changes its state file and some of its manifests (and the files of any
other folder under `waves/` the command owns). The transaction never edits a live folder in
place: it builds a complete new version of each folder it changes in a private staging area
(`waves/.wave-planner/txn/`, ignored by git: unchanged files are hard links, changed files
are written and flushed to disk), records what it is about to do in a journal, then switches
each folder in one step (an atomic exchange of the two folders where the system offers it,
else two renames), and removes the old versions and the journal.

A reader therefore sees the old folder or the new one, never a mix. If the process dies
(`kill -9`, power loss) before the journal is written, nothing live changed and the next
command removes the staged copies (undo); after it, the next command finishes the switch
(redo), and says so. The staging area, the journal and the lock live in `waves/.wave-planner/`
with a `.gitignore` of `*`, so no temporary file is ever added to a commit.
"""

from __future__ import annotations

import ctypes
import errno
import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from planner.adapters.lock import PRIVATE_DIR, private_dir
from planner.errors import UserError

TXN_DIR = "txn"
JOURNAL = "journal.json"


def is_temporary(name: str) -> bool:
    """A leftover of an interrupted atomic write (`.<name>.<random>.tmp`): never carried."""
    return name.startswith(".") and name.endswith(".tmp")


# ------------------------------------------------------------------------ the switch

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(a: Path, b: Path) -> bool:
    """Swap two folders atomically (Linux renameat2); False when the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    result = renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if result == 0:
        return True
    err = ctypes.get_errno()
    if err in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _switch(live: Path, staged: Path, old: Path) -> Path | None:
    """Make `staged` the live folder; where the previous version went (None: there was none)."""
    if not live.exists():
        os.rename(staged, live)
        return None
    if _exchange(staged, live):
        return staged
    os.rename(live, old)
    os.rename(staged, live)
    return old


# ------------------------------------------------------------------ the transaction


@dataclass
class _Folder:
    live: Path
    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: set[str] = field(default_factory=set)


@dataclass
class Transaction:
    """Changes to files under `waves/`, applied together by `commit()`."""

    waves: Path
    command: str
    folders: dict[str, _Folder] = field(default_factory=dict)
    staged: dict[str, Path] = field(default_factory=dict)
    previous: dict[str, Path | None] = field(default_factory=dict)
    _area: Path | None = None

    def _folder(self, path: Path) -> tuple[_Folder, str]:
        try:
            rel = path.relative_to(self.waves)
        except ValueError:
            raise ValueError(f"{path} is not under {self.waves}") from None
        parts = rel.parts
        if len(parts) < 2 or parts[0] in (PRIVATE_DIR, "..", "."):
            raise ValueError(f"{path} is not inside a folder of {self.waves}")
        top = parts[0]
        entry = self.folders.setdefault(top, _Folder(self.waves / top))
        return entry, Path(*parts[1:]).as_posix()

    def put(self, path: Path, data: bytes) -> None:
        entry, rel = self._folder(path)
        entry.deletes.discard(rel)
        entry.writes[rel] = data

    def remove(self, path: Path) -> None:
        entry, rel = self._folder(path)
        entry.writes.pop(rel, None)
        entry.deletes.add(rel)

    def changed(self) -> list[Path]:
        """Every path the transaction writes or removes, whose bytes really change."""
        out = []
        for entry in self.folders.values():
            for rel, data in entry.writes.items():
                target = entry.live / rel
                if not (target.is_file() and not target.is_symlink()) or _read(target) != data:
                    out.append(target)
            out.extend(entry.live / rel for rel in entry.deletes if _lexists(entry.live / rel))
        return sorted(out)

    # ---- phase 1: build the new versions (nothing live changes) -----------------------
    def prepare(self) -> None:
        """Check every target is writable, then build each new folder in the staging area."""
        try:
            private = private_dir(self.waves)
        except OSError as exc:
            raise UserError.single(
                f"cannot write under {self.waves}: {exc.strerror or exc}: nothing was changed",
                key="--repo",
                fix="make the folder writable and run the command again",
            ) from None
        self._check_writable()
        area = private / TXN_DIR / uuid.uuid4().hex[:12]
        self._area = area
        try:
            area.mkdir(parents=True)
            for top, entry in sorted(self.folders.items()):
                staged = area / top
                _stage(entry, staged)
                self.staged[top] = staged
            _sync(area)
        except OSError as exc:
            self.abort()
            raise UserError.single(
                f"cannot prepare the new files under {self.waves}: {exc.strerror or exc}",
                key="--repo",
                fix="free disk space or make the folder writable; nothing was changed",
            ) from None

    def _check_writable(self) -> None:
        problems = []
        if not os.access(self.waves, os.W_OK):
            problems.append(f"{self.waves} is not writable")
        for entry in self.folders.values():
            live = entry.live
            if live.exists() and not live.is_dir():
                problems.append(f"{live} is a file, not a folder")
                continue
            if live.exists() and not os.access(live, os.W_OK | os.X_OK):
                problems.append(f"{live} is not writable")
            for rel in sorted({*entry.writes, *entry.deletes}):
                target = live / rel
                if target.is_dir() and not target.is_symlink():
                    problems.append(f"{target} is a folder, not a file")
                elif target.exists() and not os.access(target, os.W_OK):
                    problems.append(f"{target} is read-only")
        if problems:
            raise UserError.single(
                "; ".join(problems) + ": nothing was changed",
                key="--repo",
                fix="make the rollout's files writable (chmod u+w) and run the command again",
            )

    # ---- phase 2: switch (the commit point) ------------------------------------------
    def commit(self) -> None:
        """Switch every prepared folder in; record a journal first so a crash is redone.

        The old versions stay in the staging area until `finish()` (or go back with
        `undo()` when a later step, such as `--commit`, fails).
        """
        assert self._area is not None, "prepare() first"
        area = self._area
        journal = {
            "command": self.command,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "folders": [
                {
                    "live": top,
                    "staged": self.staged[top].name,
                    "writes": {
                        rel: hashlib.sha256(data).hexdigest()
                        for rel, data in sorted(self.folders[top].writes.items())
                    },
                    "deletes": sorted(self.folders[top].deletes),
                }
                for top in sorted(self.staged)
            ],
        }
        _write_new(area / JOURNAL, (json.dumps(journal, indent=2) + "\n").encode())
        _fsync_dir(area)
        for top in sorted(self.staged):
            self.previous[top] = _switch(self.waves / top, self.staged[top], area / f"{top}.old")
        _fsync_dir(self.waves)

    def finish(self) -> None:
        """Remove the old versions and the journal: the transaction is over."""
        if self._area is not None:
            shutil.rmtree(self._area, ignore_errors=True)
            self._area = None

    def undo(self) -> None:
        """Switch the old versions back after `commit()`, then clean up."""
        for top, old in sorted(self.previous.items()):
            live = self.waves / top
            if old is None:
                shutil.rmtree(live, ignore_errors=True)
            elif not _exchange(old, live):
                shutil.rmtree(live, ignore_errors=True)
                os.rename(old, live)
        self.previous.clear()
        self.finish()

    def abort(self) -> None:
        """Drop the staged copies (before `commit()`): nothing live was touched."""
        self.finish()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _lexists(path: Path) -> bool:
    return path.exists() or path.is_symlink()


def _stage(entry: _Folder, staged: Path) -> None:
    """A complete copy of the folder with the changes applied (hard links where unchanged)."""
    staged.mkdir(mode=0o755)
    live = entry.live
    skip = set(entry.writes) | entry.deletes
    if live.is_dir():
        _link_tree(os.fspath(live), os.fspath(staged), "", skip)
    for rel, data in sorted(entry.writes.items()):
        dest = staged / rel
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
        _write_new(dest, data, durable=False)


def _link_tree(source: str, dest: str, prefix: str, skip: set[str]) -> bool:
    """Hard-link every file of `source` into `dest` (symbolic links copied as links), but
    `skip` and leftover temporary files; folders left empty are not kept. Whether anything
    was placed. (Plain strings and `scandir`: a step stages thousands of files.)"""
    with os.scandir(source) as found:
        entries = sorted(found, key=lambda e: e.name)
    placed = False
    for item in entries:
        rel = prefix + item.name
        target = os.path.join(dest, item.name)
        if item.is_dir(follow_symlinks=False):
            os.mkdir(target, 0o755)
            if _link_tree(item.path, target, rel + "/", skip):
                placed = True
            else:
                os.rmdir(target)
            continue
        if rel in skip or is_temporary(item.name):
            continue
        if item.is_symlink():
            if item.is_dir():
                continue  # a link to a folder is not carried
            os.symlink(os.readlink(item.path), target)
        else:
            try:
                os.link(item.path, target)
            except OSError:
                shutil.copy2(item.path, target)
        placed = True
    return placed


def _write_new(path: Path, data: bytes, *, durable: bool = True) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        if durable:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(path, 0o644)


def _sync(path: Path) -> None:
    """Flush the staged files to disk in one call (`syncfs` of their file system where the
    system has it, else `sync`), instead of one `fsync` per file: a step of a large flux
    rollout writes thousands of files."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        syncfs = libc.syncfs
    except (OSError, AttributeError):
        os.sync()
        return
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        os.sync()
        return
    try:
        if syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# ---------------------------------------------------------------------------- recovery


@dataclass(frozen=True)
class Pending:
    """An interrupted transaction found in the staging area."""

    area: Path
    command: str
    at: str
    journal: bool  # True: committed (to be completed); False: never committed (to drop)

    def describe(self) -> str:
        if self.journal:
            return f"an interrupted `{self.command}` of {self.at} (its switch was not finished)"
        return "an interrupted write that never reached its commit point (nothing live changed)"


def pending(waves: Path) -> list[Pending]:
    """Interrupted transactions, oldest first (read-only: for `status`)."""
    root = waves / PRIVATE_DIR / TXN_DIR
    if not root.is_dir():
        return []
    found = []
    for area in sorted(p for p in root.iterdir() if p.is_dir()):
        data = _journal(area)
        if data is None:
            found.append(Pending(area, "?", "?", journal=False))
        else:
            found.append(
                Pending(area, str(data.get("command", "?")), str(data.get("at", "?")), True)
            )
    return found


def _journal(area: Path) -> dict[str, object] | None:
    try:
        data = json.loads((area / JOURNAL).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def recover(waves: Path) -> list[str]:
    """Complete (journal written) or drop (no journal) interrupted transactions.

    Call with the lock held. Returns one line per transaction recovered, for the report.
    """
    notes = []
    for item in pending(waves):
        if not item.journal:
            shutil.rmtree(item.area, ignore_errors=True)
            notes.append(f"recovered: dropped {item.describe()}")
            continue
        data = _journal(item.area) or {}
        folders = data.get("folders")
        for entry in folders if isinstance(folders, list) else []:
            if isinstance(entry, dict):
                _redo(waves, item.area, entry)
        shutil.rmtree(item.area, ignore_errors=True)
        notes.append(f"recovered: completed {item.describe()}")
    return notes


def _is_new(folder: Path, writes: Mapping[str, object], deletes: Iterable[object]) -> bool:
    """Whether `folder` is the new version a journal describes."""
    for rel, digest in writes.items():
        data = _read(folder / rel)
        if data is None or hashlib.sha256(data).hexdigest() != digest:
            return False
    return not any(isinstance(rel, str) and _lexists(folder / rel) for rel in deletes)


def _redo(waves: Path, area: Path, entry: Mapping[str, object]) -> None:
    top, name = entry.get("live"), entry.get("staged")
    writes, deletes = entry.get("writes"), entry.get("deletes")
    if not (isinstance(top, str) and isinstance(name, str) and "/" not in top + name):
        return
    if not isinstance(writes, dict) or not isinstance(deletes, list):
        return
    live, staged, old = waves / top, area / name, area / f"{top}.old"
    if live.is_dir() and _is_new(live, writes, deletes):
        return  # switched already
    if staged.is_dir() and _is_new(staged, writes, deletes):
        if not live.exists() and old.exists():
            os.rename(staged, live)
        else:
            _switch(live, staged, old)
        return
    raise UserError.single(
        f"an interrupted transaction in {area} cannot be completed: {live} matches neither "
        "its old nor its new version",
        key="--repo",
        fix=f"inspect {live} (git diff), restore it with git, then remove {area}",
    )


def touched(paths: Iterable[Path], root: Path) -> list[str]:
    """Paths relative to the repository, sorted (what a command reports as written)."""
    return sorted(p.relative_to(root).as_posix() for p in paths)
