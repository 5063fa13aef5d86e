"""Recovering from an interrupted transaction (`planner.adapters.transaction`): what the
staging area holds (`pending`, read-only, for `status`) and finishing or dropping it
(`recover`, with the lock held): a journal is applied again from the start (redo), a
staging area without one is dropped (undo)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

from planner.adapters.lock import PRIVATE_DIR
from planner.adapters.transaction import JOURNAL, TXN_DIR, apply_ops
from planner.errors import UserError


@dataclass(frozen=True)
class Pending:
    """An interrupted transaction found in the staging area."""

    area: Path
    command: str
    at: str
    journal: bool  # True: committed (to be completed); False: never committed (to drop)

    def describe(self) -> str:
        if self.journal:
            return f"an interrupted `{self.command}` of {self.at} (its writes were not finished)"
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
        if item.journal:
            apply_ops(
                waves, item.area, _valid_ops(item.area, (_journal(item.area) or {}).get("ops"))
            )
        shutil.rmtree(item.area, ignore_errors=True)
        verb = "completed" if item.journal else "dropped"
        notes.append(f"recovered: {verb} {item.describe()}")
    return notes


def _valid_ops(area: Path, ops: object) -> list[dict[str, str]]:
    """The journal's operations, each checked to stay inside `waves/` and the area; a
    journal with any other entry is refused whole (never applied in part)."""
    listed = ops if isinstance(ops, list) else None
    valid = [op for op in listed or [] if _valid_op(op)]
    if listed is None or len(valid) != len(listed):
        raise UserError.single(
            "the journal of an interrupted transaction holds an operation it cannot apply "
            "(damaged or edited by hand)",
            file=str(area / JOURNAL),
            key="ops",
            fix=f"inspect the rollout's files (git status, git diff), restore them with git, "
            f"then remove {area}",
        )
    return valid


def _valid_op(op: object) -> bool:
    if not (isinstance(op, dict) and all(isinstance(v, str) for v in op.values())):
        return False
    paths = [op.get("live", ""), op.get("staged", "x"), op.get("folder", "x")]
    return all(p and not p.startswith("/") and ".." not in p.split("/") for p in paths)
