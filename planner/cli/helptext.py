"""Help text as written: example blocks keep their line breaks.

Click rewraps every paragraph of a command's help; an example split over lines with a
trailing backslash becomes one long line that no longer pastes. A paragraph whose lines are
indented (an example) gets click's `\\b` marker, which keeps it verbatim.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import Any

import typer

NO_REWRAP = "\b"


def keep_breaks(doc: str) -> str:
    """The docstring with every indented paragraph marked to be printed verbatim."""
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    out = []
    for paragraph in paragraphs:
        lines = [line for line in paragraph.split("\n") if line.strip()]
        example = bool(lines) and all(line.startswith("  ") for line in lines)
        verbatim = example and not paragraph.startswith(NO_REWRAP)
        out.append(NO_REWRAP + "\n" + paragraph if verbatim else paragraph)
    return "\n\n".join(out)


def _callbacks(app: typer.Typer) -> Iterable[Callable[..., Any]]:
    for command in app.registered_commands:
        if command.callback is not None:
            yield command.callback
    for group in app.registered_groups:
        if group.typer_instance is not None:
            yield from _callbacks(group.typer_instance)


def apply(app: typer.Typer) -> None:
    """Mark the example blocks of every command of `app` (and its groups)."""
    for callback in _callbacks(app):
        if callback.__doc__:
            callback.__doc__ = keep_breaks(callback.__doc__)


def plain_usage(command: Any) -> Any:
    """Usage lines name arguments as written (`CLUSTER`, `[NAME]`), not `{cluster}`.

    Applied to every command when it is built (`planner.cli` builds each on first use).
    """
    if command is None:
        return None
    for param in getattr(command, "params", ()):
        if getattr(param, "param_type_name", "") == "argument" and not getattr(
            param, "_plain_usage", False
        ):
            param.get_usage_pieces = _usage_piece(param)
            param._plain_usage = True
    return command


def _usage_piece(param: Any) -> Callable[[Any], list[str]]:
    def pieces(ctx: Any) -> list[str]:
        name = str(param.metavar or param.name).upper()
        if param.nargs != 1:
            name += "..."
        return [name if param.required else f"[{name}]"]

    return pieces
