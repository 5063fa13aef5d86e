"""`rollout watch`: `advance --if-ready` again and again, in the foreground.

It stops at an approval, a failing gate, a pause, a halt or the end, and sleeps while a bake
runs; the clock and the sleep are parameters, so it is testable without waiting.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from planner.api.gating import Evaluator, Progress
from planner.api.rollouts import rollout_step


def watch(
    step_once: Callable[[], Progress],
    *,
    echo: Callable[[str], None],
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 60.0,
    max_rounds: int | None = None,
) -> Progress:
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


def rollout_watch(
    repo: Path,
    name: str,
    *,
    echo: Callable[[str], None],
    commit: bool = False,
    by: str | None = None,
    clock: Callable[[], datetime] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    poll: float = 60.0,
    max_rounds: int | None = None,
    evaluate: Evaluator | None = None,
    allow_unpinned: bool = False,
) -> Progress:
    """`rollout watch`: `advance --if-ready` again and again until something needs a person."""
    from planner.adapters import rolloutrepo

    tick = clock or rolloutrepo.now
    if clock is None and os.environ.get(rolloutrepo.NOW_VARIABLE):
        max_rounds = 1  # a clock frozen by WAVE_PLANNER_NOW: waiting would never end
    return watch(
        lambda: rollout_step(
            repo,
            name,
            by=by,
            commit=commit,
            if_ready=True,
            now=tick(),
            evaluate=evaluate,
            allow_unpinned=allow_unpinned,
        ),
        echo=echo,
        sleep=sleep,
        poll=poll,
        max_rounds=max_rounds,
    )
