"""The click command of a Typer app, built once per test run (a pytest plugin).

`typer.testing.CliRunner().invoke(app, ...)` builds the click command tree from the Typer app
on every call (about 0.05 CPU-second for wave-planner's app, paid by hundreds of in-process
command lines per run). The tree is the same every time (the app is not changed after
import, and the planner's usage rewrite marks what it has done), so the first build is
kept for the app and reused; each invocation still gets its own context, streams and
environment from the runner.
"""

from __future__ import annotations

from typing import Any

import pytest
import typer.main
import typer.testing
from typer import Typer

_BUILT: dict[int, tuple[Typer, Any]] = {}


def _command(app: Typer) -> Any:
    found = _BUILT.get(id(app))
    if found is None or found[0] is not app:
        found = (app, _BUILD(app))
        _BUILT[id(app)] = found
    return found[1]


_BUILD = typer.main.get_command


def pytest_configure(config: pytest.Config) -> None:
    setattr(typer.testing, "_get_command", _command)  # noqa: B010 (a private name)
