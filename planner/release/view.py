"""A rollout as a command reports it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from planner.release.model import Gate, Rollout


@dataclass(frozen=True)
class RolloutView:
    """A rollout as a command reports it: the state, the gate now, drift, what was written."""

    state: Rollout
    gate: Gate
    now: datetime
    drift: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    commit: str | None = None
    notes: tuple[str, ...] = ()  # interrupted writes completed or pending, a stale lock
