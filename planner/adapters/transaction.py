"""Writing under `waves/` as one transaction: every file of a step changes, or none does.

A step of a rollout changes its state file and some of its manifests (and files of other
folders under `waves/` the command owns, such as the fleet view). The transaction costs the
files that change, not the size of the folders they are in:

1. prepare: each new file's bytes are written into a private staging area
   (`waves/.wave-planner/txn/<id>/`, ignored by git), a folder that does not exist yet is
   built whole there, and everything staged is flushed to disk. Nothing live changes.
2. commit: a journal listing every operation (live path, staged file or folder, or delete)
   is written and flushed: this is the commit point. Then each staged file is renamed over
   its live path (the previous version kept in the staging area by a hard link), each new
   folder is renamed into place, each removed file is moved into the staging area, in the
   order the files were given: the caller gives the state file last, so it is switched
   after every manifest it describes. The renames are flushed.
3. finish: the staging area (old versions, journal) is removed.

Each file changes atomically (a rename): a reader of one file sees its old bytes or its new
ones. Between the commit point and the end of step 2, the work tree holds some new files
and some old ones; no other command runs then (the lock of `waves/` is held), and a commit
(`--commit`) is made from the complete new version before anything live changes, so no
commit ever holds a mix. If the process dies (`kill -9`, power loss) before the journal is
complete, nothing live changed and the next command drops the staging area (undo); after
it, the next command applies the journal again from the start (redo: every operation can
be repeated), and says so (`planner.adapters.recovery`). `status` reports such a journal
without touching it. The staging area, the journal and the lock live in
`waves/.wave-planner/` with a `.gitignore` of `*`, so no temporary file is ever added to a
commit; leftover `.<name>.<random>.tmp` files beside the files a step writes are removed
with it, and never carried into a commit.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from planner.adapters import durable
from planner.adapters.lock import PRIVATE_DIR, private_dir
from planner.errors import UserError

TXN_DIR = "txn"
JOURNAL = "journal.json"
_OLD = "old"  # previous versions: old/<index of the operation>


def is_temporary(name: str) -> bool:
    """A leftover of an interrupted atomic write (`.<name>.<random>.tmp`): never carried."""
    return name.startswith(".") and name.endswith(".tmp")


@dataclass
class Transaction:
    """Changes to files under `waves/`, applied together by `commit()`."""

    waves: Path
    command: str
    # {path relative to waves/: new bytes, or None to remove}, in the order given
    files: dict[str, bytes | None] = field(default_factory=dict)
    ops: list[dict[str, str]] = field(default_factory=list)  # the journal's operations
    _area: Path | None = None
    _applied: bool = False

    def _rel(self, path: Path) -> str:
        text, waves = str(path), str(self.waves)
        if text.startswith(waves + "/"):  # (a Path's text is normalized: split it as text)
            pieces = text[len(waves) + 1 :].split("/")
            if len(pieces) < 2 or pieces[0] in (PRIVATE_DIR, "..", ".") or ".." in pieces:
                raise ValueError(f"{path} is not inside a folder of {self.waves}")
            return "/".join(pieces)
        try:
            rel = path.relative_to(self.waves)
        except ValueError:
            raise ValueError(f"{path} is not under {self.waves}") from None
        parts = rel.parts
        if len(parts) < 2 or parts[0] in (PRIVATE_DIR, "..", ".") or ".." in parts:
            raise ValueError(f"{path} is not inside a folder of {self.waves}")
        return rel.as_posix()

    def put(self, path: Path, data: bytes) -> None:
        rel = self._rel(path)
        self.files.pop(rel, None)
        self.files[rel] = data

    def remove(self, path: Path) -> None:
        rel = self._rel(path)
        self.files.pop(rel, None)
        self.files[rel] = None

    def changed(self) -> list[Path]:
        """Every path the transaction writes or removes, whose bytes really change."""
        out = []
        for rel, data in self.files.items():
            target = self.waves / rel
            if data is None:
                if _lexists(target):
                    out.append(target)
            elif not (target.is_file() and not target.is_symlink()) or _read(target) != data:
                out.append(target)
        return sorted(out)

    # ---- phase 1: stage the new files (nothing live changes) --------------------------
    def prepare(self) -> None:
        """Check every target is writable, then stage the new files and flush them."""
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
            self.ops = self._stage(area)
            durable.sync(area, [*_paths(area), str(area)])
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
        waves = str(self.waves)
        missing: set[str] = set()  # folders that do not exist: nothing below them does
        seen: set[str] = set()
        for rel in self.files:
            target = os.path.join(waves, rel)
            parts = rel.split("/")[:-1]
            absent = False
            for i in range(1, len(parts) + 1):
                folder = os.path.join(waves, *parts[:i])
                if folder in seen:
                    if folder in missing:
                        absent = True
                        break
                    continue
                seen.add(folder)
                if not os.path.lexists(folder):
                    missing.add(folder)
                    absent = True
                    break
                if not os.path.isdir(folder):
                    problems.append(f"{folder} is a file, not a folder")
                    break
                if not os.access(folder, os.W_OK | os.X_OK):
                    problems.append(f"{folder} is not writable")
            if absent:
                continue
            if os.path.isdir(target) and not os.path.islink(target):
                problems.append(f"{target} is a folder, not a file")
            elif os.path.exists(target) and not os.access(target, os.W_OK):
                problems.append(f"{target} is read-only")
        if problems:
            raise UserError.single(
                "; ".join(dict.fromkeys(problems)) + ": nothing was changed",
                key="--repo",
                fix="make the rollout's files writable (chmod u+w) and run the command again",
            )

    def _stage(self, area: Path) -> list[dict[str, str]]:
        """Write the new files into `area`; the operations of the journal, in order (a new
        folder goes where its last file was given: the state file stays last of all)."""
        (area / "files").mkdir()
        missing: dict[str, str | None] = {}  # a folder -> the highest missing one above it
        made: set[str] = set()  # folders made in the staging area
        new = os.path.join(area, "new")
        items: list[dict[str, str] | str] = []  # operations, and new folders' markers
        for rel, data in self.files.items():
            top = _highest_missing(self.waves, rel, missing)
            if top is not None:
                if data is not None:
                    dest = os.path.join(new, rel)
                    parent = os.path.dirname(dest)
                    if parent not in made:
                        os.makedirs(parent, mode=0o755, exist_ok=True)
                        made.add(parent)
                    durable.write_file(Path(dest), data)
                    items.append(top)
            elif data is None:
                if _lexists(self.waves / rel):
                    items.append({"live": rel, "delete": "1"})
            else:
                staged = f"files/{len(items)}"
                durable.write_file(area / staged, data)
                items.append(
                    {"live": rel, "staged": staged, "sha256": hashlib.sha256(data).hexdigest()}
                )
        last = {item: i for i, item in enumerate(items) if isinstance(item, str)}
        ops = [
            item if isinstance(item, dict) else {"live": item, "folder": f"new/{item}"}
            for i, item in enumerate(items)
            if isinstance(item, dict) or last[item] == i
        ]
        return ops + self._leftovers(ops)

    def _leftovers(self, ops: list[dict[str, str]]) -> list[dict[str, str]]:
        """Deletes of leftover temporary files in the live folders this step writes in."""
        named = {op["live"] for op in ops}
        found = []
        for parent in sorted({os.path.dirname(op["live"]) for op in ops if "folder" not in op}):
            try:
                with os.scandir(self.waves / parent) as listing:
                    names = sorted(e.name for e in listing if is_temporary(e.name) and e.is_file())
            except OSError:
                continue
            rels = (f"{parent}/{name}" for name in names)
            found += [{"live": rel, "delete": "1"} for rel in rels if rel not in named]
        return found

    def contents(self) -> dict[str, dict[str, Path]]:
        """The complete new version of each top folder this transaction writes in:
        {folder under waves/: {path inside it: file holding its bytes}} (for `--commit`).
        Leftover temporary files are never part of it."""
        assert self._area is not None, "prepare() first"
        area = self._area
        out: dict[str, dict[str, Path]] = {}
        for top in sorted({op["live"].split("/", 1)[0] for op in self.ops}):
            out[top] = dict(_walk(self.waves / top, ""))
        for op in self.ops:
            top, _, rel = op["live"].partition("/")
            if "folder" in op:
                out[top].update(_walk(area / op["folder"], f"{rel}/" if rel else ""))
            elif "delete" in op:
                out[top].pop(rel, None)
            else:
                out[top][rel] = area / op["staged"]
        return {top: dict(sorted(files.items())) for top, files in out.items()}

    # ---- phase 2: the journal (the commit point), then the files ----------------------
    def commit(self) -> None:
        """Write the journal, then apply every operation. The previous versions stay in the
        staging area until `finish()` (or go back with `undo()` when a later step, such as
        `--commit`, fails)."""
        assert self._area is not None, "prepare() first"
        area = self._area
        journal = {
            "command": self.command,
            "at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "ops": self.ops,
        }
        durable.write_file(
            area / JOURNAL, (json.dumps(journal, indent=1) + "\n").encode(), sync=True
        )
        durable.sync_folder(area)
        apply_ops(self.waves, area, self.ops)
        self._applied = True

    def finish(self) -> None:
        """Remove the old versions and the journal: the transaction is over."""
        if self._area is not None:
            (self._area / JOURNAL).unlink(missing_ok=True)
            shutil.rmtree(self._area, ignore_errors=True)
            self._area = None

    def undo(self) -> None:
        """Put the previous versions back after `commit()`, then clean up."""
        if self._area is not None and self._applied:
            _revert(self.waves, self._area, self.ops)
        self._applied = False
        self.finish()

    def abort(self) -> None:
        """Drop the staged files (before `commit()`): nothing live was touched."""
        self.finish()


def _highest_missing(waves: Path, rel: str, known: dict[str, str | None]) -> str | None:
    """The highest folder above `rel` (below `waves/`) that does not exist, or None.
    `known`: folders seen, each to the highest missing one at or above it (None: it exists)."""
    parts = rel.split("/")[:-1]
    for i in range(1, len(parts) + 1):
        folder = "/".join(parts[:i])
        if folder in known:
            top = known[folder]
            if top is not None:
                return top
            continue
        if not os.path.isdir(os.path.join(waves, folder)):
            known[folder] = folder
            return folder
        known[folder] = None
    return None


def _walk(folder: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    """Every file under `folder` (symbolic links to files as links), but temporary files
    and links to folders; paths relative to it with `prefix`."""
    try:
        with os.scandir(folder) as found:
            entries = list(found)
    except (FileNotFoundError, NotADirectoryError):
        return
    for item in entries:
        if item.is_dir(follow_symlinks=False):
            yield from _walk(Path(item.path), f"{prefix}{item.name}/")
        elif not is_temporary(item.name) and not (item.is_symlink() and item.is_dir()):
            yield prefix + item.name, Path(item.path)


def apply_ops(waves: Path, area: Path, ops: list[dict[str, str]]) -> None:
    """Apply the journal's operations; each one can be repeated (redo)."""
    (area / _OLD).mkdir(exist_ok=True)
    for index, op in enumerate(ops):
        live, old = waves / op["live"], area / _OLD / str(index)
        if "folder" in op:
            staged = area / op["folder"]
            if staged.is_dir() and not _lexists(live):
                live.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                os.rename(staged, live)
            elif not live.is_dir():
                raise _incomplete(area, live)
        elif "delete" in op:
            if _lexists(live):
                os.rename(live, old)
                _prune(waves, live.parent)
        else:
            staged = area / op["staged"]
            if _lexists(staged):
                if _lexists(live) and not _lexists(old):
                    os.link(live, old, follow_symlinks=False)
                live.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
                os.rename(staged, live)
            elif _digest(_read(live)) != op.get("sha256"):
                raise _incomplete(area, live)
    durable.sync(waves, _parents(waves, ops))


def _revert(waves: Path, area: Path, ops: list[dict[str, str]]) -> None:
    """Undo `apply_ops` (newest first), keeping the staged files so a redo stays possible."""
    for index in reversed(range(len(ops))):
        op = ops[index]
        live, old = waves / op["live"], area / _OLD / str(index)
        if "folder" in op:
            if live.is_dir():
                os.rename(live, area / op["folder"])
                _prune(waves, live.parent)
            continue
        if "staged" in op and _lexists(live) and not _lexists(area / op["staged"]):
            os.rename(live, area / op["staged"])
        if _lexists(old):
            live.parent.mkdir(parents=True, exist_ok=True, mode=0o755)
            os.rename(old, live)
        else:
            _prune(waves, live.parent)
    durable.sync(waves, _parents(waves, ops))


def _paths(folder: Path) -> list[str]:
    """Every file and folder under `folder`, deepest first (to flush each one)."""
    out = []
    for parent, names, files in os.walk(folder, topdown=False):
        out += [os.path.join(parent, name) for name in files + names]
    return out


def _parents(waves: Path, ops: list[dict[str, str]]) -> list[str]:
    """The live folders whose entries the operations change (to flush each one)."""
    folders = {os.path.dirname(os.path.join(waves, op["live"])) for op in ops}
    return sorted((f for f in folders if os.path.isdir(f)), key=len, reverse=True)


def _prune(waves: Path, folder: Path) -> None:
    """Remove folders left empty, up to (not including) the top folder under `waves/`."""
    while waves not in (folder.parent, folder):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent


def _incomplete(area: Path, live: Path) -> UserError:
    return UserError.single(
        f"an interrupted transaction in {area} cannot be completed: {live} matches neither "
        "its old nor its new version",
        key="--repo",
        fix=f"inspect {live} (git diff), restore it with git, then remove {area}",
    )


def _digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None


def _lexists(path: Path) -> bool:
    return os.path.lexists(path)


def touched(paths: Iterable[Path], root: Path) -> list[str]:
    """Paths relative to the repository, sorted (what a command reports as written)."""
    return sorted(p.relative_to(root).as_posix() for p in paths)
