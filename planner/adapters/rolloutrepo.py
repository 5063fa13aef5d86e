"""A rollout's home in the fleet repository: its folder, state file, manifests and commits.

Every rollout lives under `waves/<name>/` of the fleet repository: `rollout.yaml` (the
state, `planner.release.model.Rollout`) and the wave manifests of the revision-pinning model under
`waves/<name>/<target>/` (with the manifest of generated files, so hand-kept files there are
never touched). State is read from the working tree, so a step written but not committed is
valid input for the next command. A step is written as one transaction under the lock of
`waves/` (`planner.adapters.transaction`, `planner.adapters.lock`); `--commit` commits only
the rollout's folder through git plumbing, running nothing (`planner.adapters.gitrepo`).
The clock and the actor (who runs the command) are read here too, as they are the world.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from planner import rolloutaudit as audit
from planner.adapters import files, gitrepo, lock, recovery, transaction
from planner.errors import Problem, UserError
from planner.release import messages, times
from planner.release.model import Rollout, check_rollout_name

WAVES_DIR = "waves"
STATE_FILE = "rollout.yaml"
NOW_VARIABLE = "WAVE_PLANNER_NOW"


def folder(root: Path, name: str) -> Path:
    """`waves/<name>/` of the fleet repository."""
    return root / WAVES_DIR / name


def state_path(root: Path, name: str) -> Path:
    return folder(root, name) / STATE_FILE


def relative(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def exists(root: Path, name: str) -> bool:
    return state_path(root, name).exists()


def names(root: Path) -> list[str]:
    """Every rollout in the repository (folders of `waves/` holding a state file)."""
    top = root / WAVES_DIR
    if not top.is_dir():
        return []
    return sorted(p.name for p in top.iterdir() if (p / STATE_FILE).is_file())


def read(root: Path, name: str) -> Rollout:
    """The state of one rollout, from the working tree."""
    try:
        check_rollout_name(name)
    except ValueError as exc:
        raise UserError.single(str(exc), key="NAME") from None
    path = state_path(root, name)
    if not path.is_file():
        known = names(root)
        raise UserError.single(
            f"no rollout named {name!r} in {root / WAVES_DIR}",
            key="NAME",
            fix=f"known rollouts: {', '.join(known)}" if known else "start one: rollout start",
        )
    source = relative(root, path)
    state = messages.load_state(files.read_input(path, "NAME"), source=source)
    problems = _confinement(root, name, state, source) + audit.audit(state, source=source)
    if problems:
        raise UserError(problems)
    return state


def _confinement(root: Path, name: str, state: Rollout, source: str) -> list[Problem]:
    """`name:` is the folder's; the inputs are plain relative paths inside the repository."""
    problems = []
    if state.name != name:
        problems.append(
            Problem(
                f"says {state.name!r} but the file is in waves/{name}/: a state file never "
                "names another rollout",
                file=source,
                key="name",
                fix=f"restore the file with git; the name must be {name!r}",
            )
        )
    base = root.resolve()
    for key, value in (("inputs.inventory", state.inputs.inventory),
                       ("inputs.policy", state.inputs.policy)):  # fmt: skip
        if value is None:
            continue
        parts = value.split("/")
        resolved = (base / value).resolve() if value else base
        if (
            not value
            or value.startswith("/")
            or "\\" in value
            or "\0" in value
            or any(p in ("", ".", "..", ".git") for p in parts)
            or not resolved.is_relative_to(base)
            or resolved == base
        ):
            problems.append(
                Problem(
                    f"{value!r:.200} is not a path inside the repository",
                    file=source,
                    key=key,
                    fix="restore the file with git; inputs are paths relative to the repository",
                )
            )
    return problems


def holds(out: Path, paths: Iterable[str]) -> bool:
    """`out` was generated with exactly `paths`: its manifest of generated files has the
    bytes writing them gives (compared as bytes, so no path is resolved: a step's own
    files are checked when they are written)."""
    manifest = out / files.MANIFEST
    try:
        return not manifest.is_symlink() and manifest.read_bytes() == files.manifest_bytes(paths)
    except OSError:
        return False


def regular(out: Path, paths: Iterable[str]) -> bool:
    """Each of `paths` in `out` is a regular file (not a folder, a link or missing)."""
    return all((out / rel).is_file() and not (out / rel).is_symlink() for rel in paths)


def read_all(root: Path) -> list[Rollout]:
    return [read(root, name) for name in names(root)]


def write(root: Path, state: Rollout, manifests: Mapping[str, bytes] | None = None) -> list[str]:
    """Write the manifests (when given) and the state file as one transaction; the paths
    written, sorted."""
    return save(root, state, manifests)[0]


def save(
    root: Path,
    state: Rollout,
    manifests: Mapping[str, bytes] | None = None,
    *,
    extra: Mapping[str, bytes] | None = None,
    trees: Mapping[str, Mapping[str, bytes]] | None = None,
    parts: Mapping[str, Mapping[str, bytes]] | None = None,
    message: str | None = None,
    sign: bool = False,
    adopt: bool = False,
    command: str = "wave-planner rollout",
) -> tuple[list[str], str | None]:
    """Write a step: the manifests, any `extra` files (repository paths under `waves/<dir>/`),
    any other generated `trees` ({repository folder under `waves/`: {path: bytes}}, e.g. a
    composed fleet view, with their own manifest of generated files), any `parts` of
    generated folders ({repository folder: {path: bytes}}: files of the folder's manifest
    whose bytes change, the rest of the folder and its manifest stay as they are) and the
    state, all or nothing (`planner.adapters.transaction`); with `message`, commit every
    folder written through plumbing (`planner.adapters.gitrepo`). A failure at any point,
    the commit included, leaves the work tree as it was. Returns (paths written, commit SHA).
    """
    waves = root / WAVES_DIR
    base = folder(root, state.name)
    txn = transaction.Transaction(waves, command)
    generated = dict(trees or {})
    if manifests is not None:
        generated[relative(root, base / state.target)] = manifests
    for folder_rel, tree in sorted(generated.items()):
        out = root / folder_rel
        diff = files.plan_tree(out, tree, adopt=adopt)
        for rel in (*diff.added, *diff.changed):
            txn.put(out / rel, tree[rel])
        for rel in diff.removed:
            txn.remove(out / rel)
        txn.put(out / files.MANIFEST, files.manifest_bytes(tree))
    for folder_rel, part in sorted((parts or {}).items()):
        out = root / folder_rel
        inside = out.resolve()
        for rel, data in sorted(part.items()):
            parent = (out / rel).parent
            if (
                rel.startswith("/")
                or ".." in rel.split("/")
                or not parent.resolve().is_relative_to(inside)
            ):
                raise ValueError(f"{rel} leaves {out}")
            txn.put(out / rel, data)
    for rel, data in (extra or {}).items():
        txn.put(root / rel, data)
    txn.put(state_path(root, state.name), messages.dump_state(state))
    written = [relative(root, p) for p in txn.changed()]
    written = [p for p in written if not p.endswith("/" + files.MANIFEST)]
    if not written and message is None:
        return [], None
    txn.prepare()
    prepared = None
    try:
        if message is not None:
            changes = {f"{WAVES_DIR}/{rel}": data for rel, data in txn.files.items()}
            prepared = gitrepo.prepare_changes(root, changes, message, sign=sign)
            if prepared is None:
                folders = {f"{WAVES_DIR}/{top}": found for top, found in txn.contents().items()}
                prepared = gitrepo.prepare_commit(root, folders, message, sign=sign)
    except BaseException:
        txn.abort()
        raise
    txn.commit()
    try:
        if prepared is not None:
            gitrepo.publish(prepared)
    except BaseException:
        txn.undo()
        raise
    txn.finish()
    return sorted(written), prepared.sha if prepared is not None else None


@contextmanager
def locked(root: Path, command: str) -> Iterator[list[str]]:
    """Hold the lock of `waves/` and complete or drop any interrupted transaction first;
    yields the recovery notes (what was completed or dropped)."""
    waves = root / WAVES_DIR
    with lock.hold(waves, command):
        yield recovery.recover(waves)


def interrupted(root: Path) -> list[str]:
    """Read-only: interrupted transactions and a stale lock, for `status` to report."""
    waves = root / WAVES_DIR
    notes = [
        f"{item.describe()} is pending in {item.area}: the next writing command "
        + ("completes it" if item.journal else "drops it")
        for item in recovery.pending(waves)
    ]
    holder = lock.read_holder(lock.lock_path(waves))
    if holder is not None and not lock.alive(holder):
        notes.append(
            f"{lock.lock_path(waves)} is a stale lock of {holder.describe()} (that process is "
            "gone): check that nothing runs, then remove it"
        )
    return notes


def now() -> datetime:
    """The time: `WAVE_PLANNER_NOW` (ISO 8601, UTC) when set, else the system clock."""
    text = os.environ.get(NOW_VARIABLE)
    if not text:
        return datetime.now(UTC)
    try:
        return times.parse_time(text)
    except ValueError as exc:
        raise UserError.single(
            str(exc), key=NOW_VARIABLE, fix="e.g. 2024-01-02T10:00:00Z"
        ) from None
