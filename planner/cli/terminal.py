"""The terminal a command prints to: how wide it is, and whether to colour.

Width: `COLUMNS` when set (also for a pipe: `COLUMNS=80 wave-planner plan | less`), else the
terminal's width, else no limit (a pipe or a file gets whole lines). Colour: only on a
terminal, never with `NO_COLOR` set (any value, https://no-color.org) or `TERM=dumb`;
`FORCE_COLOR` forces it (CI logs that render ANSI).
"""

from __future__ import annotations

import os
import shutil
import sys


def width() -> int | None:
    value = os.environ.get("COLUMNS", "").strip()
    if value.isdigit() and int(value) > 0:
        return max(40, int(value))
    if _isatty():
        return max(40, shutil.get_terminal_size().columns)
    return None


def colour() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return _isatty() and os.environ.get("TERM") != "dumb"


def _isatty() -> bool:
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False
