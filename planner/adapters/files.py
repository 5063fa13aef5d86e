"""Files on disk: reading inputs, and writing generated files atomically.

Owns the rules for what the planner writes: every file is rendered in memory first and
replaced atomically (write to a temporary file in the same folder, sync, rename), so an
interruption never leaves a half-written file; a manifest (`.wave-planner-manifest.json`)
lists the files the planner generated, so it never touches or deletes a file it did not
write; `check_tree` compares without writing (for `--check`).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from planner import snapshot as snap_mod
from planner.adapters import durable, newfolder
from planner.errors import Problem, Refusal, UserError

MANIFEST = ".wave-planner-manifest.json"


def read_input(path: Path, option: str) -> bytes:
    """Bytes of a user-given file, or a UserError naming the option."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise UserError.single(f"{path} does not exist", key=option) from None
    except IsADirectoryError:
        raise UserError.single(f"{path} is a folder, not a file", key=option) from None
    except OSError as exc:
        raise UserError.single(f"cannot read {path}: {exc.strerror}", key=option) from None


def read_yaml_inputs(path: Path, option: str) -> dict[str, bytes]:
    """A file, or every *.yaml/*.yml file below a folder (sorted), keyed by display path."""
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        if not found:
            raise UserError.single(f"{path} holds no YAML files", key=option)
        return {str(p): read_input(p, option) for p in found}
    return {str(path): read_input(path, option)}


def atomic_write(path: Path, data: bytes) -> None:
    """Replace `path` with `data` so readers see the old or the new file, never a mix.

    A folder that cannot be written (read-only, a file in the way, disk full) is a
    `UserError` naming the path; the old file, if any, is left exactly as it was.
    """
    write_many({path: data})


def write_many(items: Mapping[Path, bytes]) -> None:
    """Replace every file atomically and durably, with one sync for a batch of files.

    Each file is written to a temporary name in its own folder and renamed over its target:
    readers see each file old or new, never half-written. A few files are each `fsync`ed
    before their rename; a batch (more than `_FSYNC_EACH`) is flushed with one sync of the
    file system before any rename and one after the renames, as an `fsync` per file made
    writing thousands of manifests take seconds. On an error the temporary files are
    removed.
    """
    temps: list[tuple[str, Path]] = []
    each = len(items) <= _FSYNC_EACH
    current = next(iter(items), None)
    made: set[Path] = set()  # folders known to exist: one mkdir per folder, not per file
    token = None if each else secrets.token_hex(4)  # a batch: one random part for all
    try:
        for path, data in items.items():
            current = path
            folder = path.parent
            if folder not in made:
                folder.mkdir(parents=True, exist_ok=True)
                made.add(folder)
            fd, tmp = durable.temporary(folder, path.name, token)
            temps.append((tmp, path))
            durable.fill(fd, data, sync=each)
        if not each:
            durable.sync(temps[0][1].parent, [t for t, _ in temps])
        for tmp, path in temps:
            current = path
            os.replace(tmp, path)
        if not each:
            durable.sync(temps[0][1].parent, [str(p.parent) for _, p in temps])
    except BaseException as exc:
        for tmp, _ in temps:
            Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and current is not None:
            raise _unwritable(current, exc) from None
        raise


_FSYNC_EACH = 64


def _unwritable(path: Path, exc: OSError) -> UserError:
    return UserError.single(
        f"cannot write {path}: {exc.strerror or exc}",
        key="--out",
        fix="pass a writable folder",
    )


@dataclass(frozen=True)
class TreeDiff:
    """How a folder differs from what the planner would generate."""

    added: tuple[str, ...]
    changed: tuple[str, ...]
    removed: tuple[str, ...]

    @property
    def clean(self) -> bool:
        return not (self.added or self.changed or self.removed)

    def lines(self) -> list[str]:
        return (
            [f"missing: {p}" for p in self.added]
            + [f"differs: {p}" for p in self.changed]
            + [f"stale:   {p}" for p in self.removed]
        )


def _manifest(out: Path) -> list[str]:
    """The files the planner generated in `out`, each confined to `out`.

    No manifest: nothing is known as generated. A manifest that is not the planner's JSON,
    or an entry that is absolute, climbs out with `..`, goes through `.git`, or resolves
    (symbolic links included) outside `out`: bad input, and nothing is deleted.
    """
    path = out / MANIFEST
    if not path.exists() and not path.is_symlink():
        return []
    shown = str(path)
    try:
        if path.is_symlink() or not path.is_file():
            raise ValueError("not a regular file")
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise UserError.single(
            f"the manifest of generated files cannot be read ({exc})",
            file=shown,
            fix="restore it with git, or delete it (files it listed are then protected)",
        ) from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list):
        raise UserError.single(
            'expected {"files": [...]} (the manifest of generated files)',
            file=shown,
            fix="restore it with git, or delete it (files it listed are then protected)",
        )
    problems = []
    entries = []
    links = _Links(out.resolve())
    for i, entry in enumerate(files):
        why = _unconfined(links, entry)
        if why:
            problems.append(
                Problem(
                    f"{entry!r:.200} {why}: nothing was deleted",
                    file=shown,
                    key=f"files[{i}]",
                    fix="remove the entry; the manifest may only list files inside its folder",
                )
            )
        else:
            entries.append(entry)
    if problems:
        raise UserError(problems)
    return entries


class _Links:
    """Which paths below a real folder `base` are reached through no symbolic link (each
    folder looked at once): such a path resolves to itself, inside `base`."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self._plain: dict[str, bool] = {"": True}

    def plain(self, rel: str) -> bool:
        """No symbolic link from `base` down to `rel` (a plain relative path), itself included."""
        found = self._plain.get(rel)
        if found is None:
            parent = rel.rpartition("/")[0]
            found = self.plain(parent) and not os.path.islink(os.path.join(self.base, rel))
            self._plain[rel] = found
        return found


def _plain_relative(rel: str) -> bool:
    return not rel.startswith("/") and all(p not in ("", ".", "..") for p in rel.split("/"))


def _unconfined(links: _Links, entry: object) -> str | None:
    """Why a manifest entry is not a file inside `links.base` (None: it is)."""
    if not isinstance(entry, str) or not entry:
        return "is not a path"
    if "\0" in entry or "\\" in entry or entry.startswith("/") or os.path.isabs(entry):
        return "is an absolute or invalid path"
    parts = entry.split("/")
    if any(p in ("", ".", "..") for p in parts):
        return "is not a plain relative path (it climbs out of the folder)"
    if any(p.lower() == ".git" for p in parts) or parts[-1] == MANIFEST:
        return "names a file the planner never generates"
    if links.plain(entry):
        return None
    base = links.base
    try:
        resolved = (base / entry).resolve()
    except (OSError, RuntimeError):
        return "cannot be resolved (a symbolic link loop)"
    if not resolved.is_relative_to(base) or resolved == base:
        return "resolves outside the output folder (through a symbolic link)"
    return None


def generated(out: Path) -> set[str]:
    """The files the planner generated in `out`, as its manifest lists them."""
    return set(_manifest(out))


def _check_out_dir(out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UserError.single(f"{out} is a file, not a folder", key="--out", fix="pass a folder")
    if str(out).strip() == "":
        raise UserError.single("an empty --out", key="--out", fix="pass a folder")
    resolved = out.resolve()
    if resolved == Path(resolved.anchor):
        raise UserError.single(
            f"{out} is the root of the file system",
            key="--out",
            fix="pass a folder of its own, e.g. waves/argocd",
        )


check_out_folder = _check_out_dir


def _check_targets(out: Path, files: Mapping[str, bytes], *, new: bool = False) -> None:
    """Every generated path stays inside `out`, even through symbolic links in between
    (`new`: nothing exists below `out`, so only the paths themselves are checked)."""
    base = out.resolve()
    links = _Links(base)
    problems = []
    for rel in sorted(files):
        if snap_mod.escapes(snap_mod.normalize(rel)) or rel.startswith("/"):
            raise ValueError(f"generated path {rel!r} leaves the output folder")
        if new or (_plain_relative(rel) and links.plain(rel.rpartition("/")[0])):
            continue
        parent = (out / rel).parent
        if parent.exists() and not parent.resolve().is_relative_to(base):
            problems.append(
                Problem(
                    f"{parent} leads outside {out} (a symbolic link): nothing was written",
                    key="--out",
                    fix="remove the symbolic link, or pass another folder",
                )
            )
    if problems:
        raise UserError(problems)


class Unmanaged(Refusal):
    """Files in the output folder the planner did not generate and would overwrite."""

    def __init__(self, out: Path, paths: list[str]) -> None:
        self.paths = paths
        shown = ", ".join(str(out / p) for p in paths[:10])
        more = f" (+{len(paths) - 10} more)" if len(paths) > 10 else ""
        super().__init__(
            f"{shown}{more}: not generated by wave-planner (not in {out / MANIFEST}), so it is "
            "neither overwritten nor deleted; nothing was written. Move it away, or pass "
            "--adopt to let wave-planner take it over"
        )


def check_tree(out: Path, files: Mapping[str, bytes]) -> TreeDiff:
    """Compare generated `files` with `out` (files the planner did not generate are ignored)."""
    _check_out_dir(out)
    return _compare(out, files, _manifest(out))


def _compare(out: Path, files: Mapping[str, bytes], listed: Iterable[str]) -> TreeDiff:
    """`check_tree` with the manifest's entries read (`listed`)."""
    added, changed = [], []
    for rel, data in sorted(files.items()):
        target = out / rel
        if not target.is_file():
            added.append(rel)
        elif target.read_bytes() != data:
            changed.append(rel)
    removed = sorted(set(listed) - set(files))
    removed = [r for r in removed if (out / r).exists() or (out / r).is_symlink()]
    return TreeDiff(tuple(added), tuple(changed), tuple(removed))


def plan_tree(out: Path, files: Mapping[str, bytes], *, adopt: bool = False) -> TreeDiff:
    """What writing `files` to `out` would change, refusing what must not happen.

    Bad input (UserError): `out` is a file or `/`, a manifest entry or a generated path
    leaves `out`. Refused (`Unmanaged`, exit 1): a file the planner did not generate would
    be overwritten, unless `adopt`.
    """
    _check_out_dir(out)
    if not out.exists() and not out.is_symlink():  # nothing below it: every file is added
        _check_targets(out, files, new=True)
        return TreeDiff(tuple(sorted(files)), (), ())
    _check_targets(out, files)
    listed = _manifest(out)
    diff = _compare(out, files, listed)
    if not adopt:
        known = set(listed)
        clash = [rel for rel in diff.changed if rel not in known] + [
            rel for rel in diff.added if (out / rel).is_symlink() or (out / rel).exists()
        ]
        if clash:
            raise Unmanaged(out, sorted(clash))
    return diff


def manifest_bytes(files: Iterable[str]) -> bytes:
    manifest = {"generated_by": "wave-planner", "files": sorted(files)}
    return (json.dumps(manifest, indent=2) + "\n").encode()


def write_tree(out: Path, files: Mapping[str, bytes], *, adopt: bool = False) -> TreeDiff:
    """Write generated files atomically; delete only stale files this tool generated.

    A folder that does not exist yet is written whole beside it and renamed into place
    (`planner.adapters.newfolder`): it appears complete or not at all.
    """
    if not out.exists() and not out.is_symlink() and len(files) > _FSYNC_EACH:
        _check_out_dir(out)
        _check_targets(out, files, new=True)
        try:
            newfolder.write(out, {**files, MANIFEST: manifest_bytes(files)})
        except OSError as exc:
            raise _unwritable(out, exc) from None
        return TreeDiff(tuple(sorted(files)), (), ())
    diff = plan_tree(out, files, adopt=adopt)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".{MANIFEST}.probe"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise UserError.single(
            f"cannot write to {out}: {exc.strerror}", key="--out", fix="pass a writable folder"
        ) from None
    write_many({out / rel: files[rel] for rel in (*diff.added, *diff.changed)})
    for rel in diff.removed:
        (out / rel).unlink(missing_ok=True)
        _prune_empty(out, (out / rel).parent)
    atomic_write(out / MANIFEST, manifest_bytes(files))
    _drop_leftovers(out, [*files, MANIFEST])
    return diff


def _drop_leftovers(out: Path, generated: Iterable[str]) -> None:
    """Remove temporary files an interrupted earlier write of these files left behind
    (`.<name>.<random>.tmp`), so none is ever committed by a `git add`."""
    by_folder: dict[Path, set[str]] = {}
    for rel in generated:
        target = out / rel
        by_folder.setdefault(target.parent, set()).add(target.name)
    for folder, names in by_folder.items():
        try:
            with os.scandir(folder) as listing:
                entries = [e for e in listing if e.name.startswith(".") and e.name.endswith(".tmp")]
        except OSError:
            continue
        for entry in entries:
            stem = entry.name
            if entry.is_file() and stem[1:].rsplit(".", 2)[0] in names:
                Path(entry.path).unlink(missing_ok=True)


def write_changed(out: Path, files: Mapping[str, bytes]) -> list[str]:
    """Write those of `files` (paths relative to `out`) whose bytes differ; the ones written.

    For a part of a generated tree (the manifest of generated files stays as it is).
    """
    changed = [rel for rel, data in sorted(files.items()) if _differs(out / rel, data)]
    write_many({out / rel: files[rel] for rel in changed})
    return changed


def _differs(path: Path, data: bytes) -> bool:
    try:
        return path.read_bytes() != data
    except OSError:
        return True


def _prune_empty(out: Path, folder: Path) -> None:
    while folder != out and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent
