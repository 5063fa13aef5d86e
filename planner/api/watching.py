"""`rollout watch`: `advance --if-ready` again and again, in the foreground.

It stops at an approval, a failing gate, a pause, a halt or the end, and sleeps while a bake
runs; the clock and the sleep are parameters, so it is testable without waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime

from planner.api.gating import AdvanceResult, Evaluator
from planner.api.rollouts import OneRollout, RolloutAdvanceRequest, rollout_advance

__all__ = ["RolloutWatchRequest", "rollout_watch"]


def watch(
    step_once: Callable[[], AdvanceResult],
    *,
    echo: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 60.0,
    max_rounds: int | None = None,
) -> AdvanceResult:
    """Repeat `--if-ready` until an approval, a failing gate, a pause, a halt or the end.

    While a bake runs it sleeps until the bake is over (at most `poll` seconds at a time).
    """
    rounds = 0
    while True:
        progress = step_once()
        echo(progress.line())
        rounds += 1
        waiting = progress.waiting
        if waiting is not None and waiting.kind != "bake":
            return progress
        if waiting is None and progress.view.gate.kind == "done" and not progress.released:
            return progress
        if max_rounds is not None and rounds >= max_rounds:
            return progress
        if waiting is not None and waiting.seconds_left:
            sleep(min(poll, float(waiting.seconds_left)))


class RolloutWatchRequest(OneRollout):
    """`rollout watch`: each status line goes to `echo`; `clock`, `sleep` and `evaluate`
    replace the clock, the sleep and the gate probes; `max_rounds` stops it early."""

    echo: Callable[[str], None]
    by: str | None = None
    commit: bool = False
    clock: Callable[[], datetime] | None = None
    sleep: Callable[[float], None] = time.sleep
    poll: float = 60.0
    max_rounds: int | None = None
    evaluate: Evaluator | None = None
    allow_unpinned: bool = False


def rollout_watch(request: RolloutWatchRequest) -> AdvanceResult:
    """`rollout watch`: `advance --if-ready` again and again until something needs a person."""
    from planner.adapters import rolloutrepo

    tick = request.clock or rolloutrepo.now
    max_rounds = request.max_rounds
    if request.clock is None and os.environ.get(rolloutrepo.NOW_VARIABLE):
        max_rounds = 1  # a clock frozen by WAVE_PLANNER_NOW: waiting would never end
    return watch(
        lambda: rollout_advance(
            RolloutAdvanceRequest(
                repo=request.repo,
                name=request.name,
                by=request.by,
                commit=request.commit,
                if_ready=True,
                now=tick(),
                evaluate=request.evaluate,
                allow_unpinned=request.allow_unpinned,
            )
        ),
        echo=request.echo,
        sleep=request.sleep,
        poll=request.poll,
        max_rounds=max_rounds,
    )
