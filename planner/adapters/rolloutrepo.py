"""A rollout's home in the fleet repository: its folder, state file, manifests and commits.

Every rollout lives under `waves/<name>/` of the fleet repository: `rollout.yaml` (the
state, `planner.rollout.Rollout`) and the wave manifests of the revision-pinning model under
`waves/<name>/<target>/` (with the manifest of generated files, so hand-kept files there are
never touched). State is read from the working tree, so a step written but not committed is
valid input for the next command. Writes are atomic (`planner.adapters.files`); `commit`
runs git without hooks and commits only the rollout's folder. The clock and the actor
(who runs the command) are read here too, as they are the world.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path

from planner import rollout as ro
from planner.adapters import files
from planner.errors import UserError

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


def read(root: Path, name: str) -> ro.Rollout:
    """The state of one rollout, from the working tree."""
    try:
        ro.check_rollout_name(name)
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
    return ro.load_state(files.read_input(path, "NAME"), source=relative(root, path))


def read_all(root: Path) -> list[ro.Rollout]:
    return [read(root, name) for name in names(root)]


def write(root: Path, state: ro.Rollout, manifests: Mapping[str, bytes] | None = None) -> list[str]:
    """Write the manifests (when given), then the state file; the paths written, sorted."""
    base = folder(root, state.name)
    written: list[str] = []
    if manifests is not None:
        out = base / state.target
        diff = files.write_tree(out, manifests)
        written += [relative(root, out / p) for p in (*diff.added, *diff.changed, *diff.removed)]
    path = state_path(root, state.name)
    data = ro.dump_state(state)
    if not path.is_file() or path.read_bytes() != data:
        files.atomic_write(path, data)
        written.append(relative(root, path))
    return sorted(written)


def commit(root: Path, name: str, message: str, extra: Sequence[str] = ()) -> str:
    """Commit the rollout's folder (and `extra` paths, e.g. the fleet view), without
    running hooks; the new commit's SHA."""
    paths = [relative(root, folder(root, name)), *extra]
    _git(root, "add", "--all", "--", *paths)
    _git(root, "-c", "core.hooksPath=/dev/null", "commit", "--no-verify", "--quiet",
         "-m", message, "--", *paths)  # fmt: skip
    return _git(root, "rev-parse", "HEAD").strip()


def _git(root: Path, *args: str) -> str:
    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    proc = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=False
    )
    if proc.returncode != 0:
        raise UserError.single(
            f"git {args[-1] if args[0] == 'add' else 'commit'} failed: {proc.stderr.strip()}",
            key="--commit",
            fix="commit the rollout's files yourself, or fix the git configuration "
            "(user.name, user.email)",
        )
    return proc.stdout


def now() -> datetime:
    """The time: `WAVE_PLANNER_NOW` (ISO 8601, UTC) when set, else the system clock."""
    text = os.environ.get(NOW_VARIABLE)
    if not text:
        return datetime.now(UTC)
    try:
        return ro.parse_time(text)
    except ValueError as exc:
        raise UserError.single(
            str(exc), key=NOW_VARIABLE, fix="e.g. 2024-01-02T10:00:00Z"
        ) from None
