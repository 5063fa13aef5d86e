"""A rollout as a command reports it, and what one `advance` did."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from planner.release import model, times
from planner.release.model import Gate, Rollout

if TYPE_CHECKING:
    from planner import gates


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


@dataclass(frozen=True)
class AdvanceResult:
    """What one `advance` (or `--if-ready`) did: released, or what it waits for."""

    view: RolloutView
    released: str | None = None
    waiting: Gate | None = None
    verdict: gates.Verdict | None = None
    warnings: tuple[str, ...] = field(default=())

    def line(self) -> str:
        """One status line: what happened, or what the rollout waits for."""
        state = self.view.state
        if self.released:
            done = "; every step is released" if self.view.gate.kind == "done" else ""
            return f"rollout {state.name}: released {self.released}{done}"
        gate = self.waiting or self.view.gate
        if gate.kind == "done" and self.verdict is not None:
            return (
                f"rollout {state.name}: {model.state_of(state)}; gates of the last step "
                f"{self.verdict.step} passed: {self.verdict.summary()}"
            )
        if gate.kind == "done":
            return f"rollout {state.name}: {model.state_of(state)}, nothing left to release"
        wait = gate.seconds_left
        left = f" (time left {times.format_duration(wait)})" if wait else ""
        return f"rollout {state.name}: waiting for {gate.kind}: {gate.text}{left}"
