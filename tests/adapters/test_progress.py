"""The render progress bar: drawn on a terminal only, never on a pipe or with JSON."""

from __future__ import annotations

import io
import os
import pty
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from planner.adapters.progress import TerminalProgress, for_terminal, line
from planner.cli import app
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


def _run_in_this_process(built: FleetRepo, *extra: str, cache: Path) -> tuple[str, str]:
    """The same command as `_run_on_a_terminal`, run by the app in this process, with
    standard error on a pseudo-terminal (a reader thread drains it) and standard output
    in memory."""
    main, secondary = pty.openpty()
    chunks: list[bytes] = []

    def drain() -> None:
        while True:
            try:
                chunk = os.read(main, 65536)
            except OSError:  # the terminal closed
                return
            if not chunk:
                return
            chunks.append(chunk)

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    argv = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    argv += ["--precise", *extra]
    out = io.StringIO()
    code: object = None
    saved = sys.stdout, sys.stderr, os.environ.get("WAVE_PLANNER_CACHE")
    try:
        with open(secondary, "w", encoding="utf-8", closefd=True) as terminal:
            sys.stdout, sys.stderr = out, terminal
            os.environ["WAVE_PLANNER_CACHE"] = str(cache)
            try:
                app(args=argv, prog_name="wave-planner")
            except SystemExit as exc:
                code = exc.code
            terminal.flush()
    finally:
        sys.stdout, sys.stderr = saved[0], saved[1]
        if saved[2] is None:
            os.environ.pop("WAVE_PLANNER_CACHE", None)
        else:
            os.environ["WAVE_PLANNER_CACHE"] = saved[2]
        reader.join(timeout=10)
        os.close(main)
    assert code in (0, None), out.getvalue()
    return out.getvalue(), b"".join(chunks).decode(errors="replace")


@requires_kubectl
@pytest.mark.parametrize(("fmt", "drawn"), [("table", True), ("json", False)])
def test_the_cli_draws_on_a_terminal_unless_json(
    fmt: str, drawn: bool, fleet: Callable[[str], FleetRepo], render_cache: Path
) -> None:
    """(The run's render cache, tests/conftest.py: the second format reads the first one's
    renders, and a cache hit moves the bar as a render does, so the bar is still drawn or
    not.) The bar is drawn by a real `wave-planner` process, whose standard error is the
    terminal from the start; that JSON draws none is the same command run by the app in
    this process, its standard error the same kind of terminal (a process costs most of
    this test's time and would prove nothing more there)."""
    run = _run_on_a_terminal if drawn else _run_in_this_process
    out, err = run(fleet("region-change"), "--format", fmt, cache=render_cache)
    assert ("rendering [" in err) is drawn
    assert "rendering [" not in out
    assert out.strip()
