"""The render progress bar: drawn on a terminal only, never on a pipe or with JSON."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.adapters.progress import TerminalProgress, for_terminal, line
from tests.testing.fleetrepo import FleetRepo
from tests.testing.marks import requires_kubectl


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_the_line_counts_renders_hits_and_time_left() -> None:
    assert line(5, 20, 2, 75.4) == (
        "rendering [#####···············] 5/20 renders · 2 cache hits · 1:15 left"
    )
    assert line(20, 20, 20, None) == (
        "rendering [####################] 20/20 renders · 20 cache hits"
    )


def test_the_bar_is_throttled_estimates_and_erases_itself() -> None:
    now = [100.0]
    stream = _Tty()
    bar = TerminalProgress(stream, clock=lambda: now[0])
    bar.update(1, 10, 0)  # first draw
    now[0] += 0.01
    bar.update(2, 10, 0)  # too soon: not drawn
    now[0] += 1.0
    bar.update(3, 10, 1)  # 2 renders in 1.01 s -> 7 left take about 3.5 s
    bar.update(10, 10, 1)  # the last one is always drawn
    text = stream.getvalue()
    assert text.count("\r") == 3
    assert "2/10" not in text
    assert "3/10 renders · 1 cache hits · 0:04 left" in text
    assert text.rstrip(" ").endswith("10/10 renders · 1 cache hits")
    assert "1/10 renders · 0 cache hits\r" in text.replace(" \r", "\r")  # no estimate yet
    bar.close()
    assert stream.getvalue().endswith("\r" + " " * len(line(10, 10, 1, None)) + "\r")


def test_nothing_on_a_pipe_or_with_json() -> None:
    assert for_terminal(io.StringIO()) is None
    assert for_terminal(_Tty(), enabled=False) is None
    assert isinstance(for_terminal(_Tty()), TerminalProgress)


def _run_on_a_terminal(built: FleetRepo, *extra: str, cache: Path) -> tuple[str, str]:
    """Run the CLI with standard error on a pseudo-terminal, standard output on a pipe."""
    main, secondary = pty.openpty()
    argv = [sys.executable, "-c", "from planner.cli import main; main()", "plan"]
    argv += ["--repo", str(built.path)]
    argv += ["--base", built.base, "--head", built.head, "--precise", *extra]
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=secondary,
            stdin=subprocess.DEVNULL,
            env={**os.environ, "WAVE_PLANNER_CACHE": str(cache)},
        )
        os.close(secondary)
        chunks = []
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed: the process is done with it
                break
            if not chunk:
                break
            chunks.append(chunk)
        out = proc.communicate()[0]
    finally:
        os.close(main)
    return out.decode(), b"".join(chunks).decode(errors="replace")


@requires_kubectl
@pytest.mark.parametrize(("fmt", "drawn"), [("table", True), ("json", False)])
def test_the_cli_draws_on_a_terminal_unless_json(
    fmt: str, drawn: bool, fleet: Callable[[str], FleetRepo], render_cache: Path
) -> None:
    """(The run's render cache, tests/conftest.py: the second format reads the first one's
    renders, and a cache hit moves the bar as a render does, so the bar is still drawn or
    not.)"""
    out, err = _run_on_a_terminal(fleet("region-change"), "--format", fmt, cache=render_cache)
    assert ("rendering [" in err) is drawn
    assert "rendering [" not in out
    assert out.strip()
