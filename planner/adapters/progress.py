"""A progress bar for precise mode's renders, on a terminal only.

`wave-planner plan --precise` may render thousands of units. On a terminal, standard error
shows one line, redrawn at most ten times a second:

    rendering [##########··········] 412/800 renders · 380 cache hits · 0:07 left

and erased when rendering ends, so the plan printed on standard output is untouched. When
standard error is not a terminal (a pipe, a CI log) or the format is JSON, nothing is drawn
(`for_terminal` returns None).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol, TextIO

WIDTH = 20
INTERVAL = 0.1


class Progress(Protocol):
    """Told how rendering advances (counts so far, over every render call)."""

    def update(self, done: int, total: int, hits: int) -> None: ...

    def close(self) -> None: ...


def line(done: int, total: int, hits: int, left: float | None) -> str:
    """The text of the bar."""
    filled = WIDTH * done // total if total else WIDTH
    bar = "#" * filled + "·" * (WIDTH - filled)
    text = f"rendering [{bar}] {done:,}/{total:,} renders · {hits:,} cache hits"
    if left is not None:
        minutes, seconds = divmod(int(left + 0.5), 60)
        text += f" · {minutes}:{seconds:02d} left"
    return text


class TerminalProgress:
    """Draws the bar on `stream` (a terminal), throttled, erased on close."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.clock = clock
        self.started: float | None = None
        self.last = -1.0
        self.width = 0

    def update(self, done: int, total: int, hits: int) -> None:
        now = self.clock()
        if self.started is None:
            self.started = now
        if done < total and now - self.last < INTERVAL:
            return
        self.last = now
        rendered = done - hits
        left: float | None = None
        if rendered > 0 and done < total and now > self.started:
            left = (now - self.started) / rendered * (total - done)
        text = line(done, total, hits, left)
        self.stream.write("\r" + text.ljust(self.width))
        self.stream.flush()
        self.width = len(text)

    def close(self) -> None:
        if self.width:
            self.stream.write("\r" + " " * self.width + "\r")
            self.stream.flush()
            self.width = 0


def for_terminal(stream: TextIO, enabled: bool = True) -> TerminalProgress | None:
    """A bar when `stream` is a terminal and `enabled`, else None (pipes, JSON)."""
    try:
        interactive = stream.isatty()
    except (AttributeError, ValueError):
        interactive = False
    return TerminalProgress(stream) if enabled and interactive else None
