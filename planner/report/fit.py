"""Tables that fit the terminal: long cells wrap, and a line that still does not fit is cut
with an ellipsis. Colour for the severity words when asked.

The width and the colour switch are decided by the CLI (COLUMNS, a terminal or a pipe,
NO_COLOR); everything here is pure: the same rows and width give the same text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from tabulate import tabulate

MIN_COLUMN = 6
GAP = 2  # tabulate's "simple" format puts two spaces between columns
_ANSI = re.compile(r"\x1b\[[0-9;]*m")

RED, YELLOW, BOLD, RESET = "\x1b[31m", "\x1b[33m", "\x1b[1m", "\x1b[0m"
_SEVERITY = {"VIOLATION": RED, "WARNING": YELLOW}


def visible_len(text: str) -> int:
    return len(_ANSI.sub("", text))


def _natural(rows: Sequence[Sequence[Any]], headers: Sequence[str]) -> list[int]:
    widths = [len(h) + 2 for h in headers]  # tabulate pads headers by two
    for row in rows:
        for i, cell in enumerate(row):
            longest = max((visible_len(line) for line in str(cell).split("\n")), default=0)
            widths[i] = max(widths[i], longest)
    return widths


def table(
    rows: Sequence[Sequence[Any]],
    headers: Sequence[str],
    *,
    width: int | None = None,
    colalign: Sequence[str] | None = None,
) -> str:
    """A `simple` tabulate table no wider than `width` (no limit when None)."""
    kwargs: dict[str, Any] = {"headers": list(headers)}
    if colalign is not None:
        kwargs["colalign"] = tuple(colalign)
    text = tabulate([list(r) for r in rows], **kwargs)
    if width is None or max((visible_len(x) for x in text.split("\n")), default=0) <= width:
        return text
    widths = _natural(rows, headers)
    floors = [
        min(widths[i], max(MIN_COLUMN, max((len(w) for w in h.split()), default=0) + 2))
        for i, h in enumerate(headers)
    ]
    budget = width - GAP * (len(widths) - 1)
    limits = list(widths)
    last = len(limits) - 1  # the free-text column gives way first, then the widest
    limits[last] = max(floors[last], limits[last] - max(0, sum(limits) - budget))
    while sum(limits) > budget:
        widest = max(range(len(limits)), key=lambda i: (limits[i] - floors[i], limits[i]))
        if limits[widest] <= floors[widest]:
            break
        limits[widest] -= 1
    wrapped = [
        [_wrap(str(cell), limits[i]) if limits[i] < widths[i] else cell for i, cell in enumerate(r)]
        for r in rows
    ]
    kwargs["headers"] = [
        _wrap(h, limits[i] - 2) if len(h) + 2 > limits[i] else h for i, h in enumerate(headers)
    ]
    text = tabulate(wrapped, **kwargs)
    return "\n".join(cut(line, width) for line in text.split("\n"))


def _wrap(text: str, limit: int) -> str:
    """Wrap at spaces, then at `/`, `,` and `-` when a word is longer than the column."""
    out: list[str] = []
    for paragraph in text.split("\n"):
        indent = len(paragraph) - len(paragraph.lstrip(" "))
        line = ""
        for word in paragraph.split():
            candidate = f"{line} {word}" if line else (" " * indent + word)
            if visible_len(candidate) <= limit:
                line = candidate
                continue
            if line:
                out.append(line)
            rest = word
            while visible_len(rest) > limit:
                at = max(rest.rfind(sep, 0, limit) for sep in "/,-")
                at = at + 1 if at > 0 else limit
                out.append(rest[:at])
                rest = rest[at:]
            line = rest
        out.append(line)
    return "\n".join(out)


def cut(line: str, width: int) -> str:
    """A line no wider than `width`, ending in `…` when cut (colour codes kept whole)."""
    if visible_len(line) <= width:
        return line
    if _ANSI.search(line):
        line = _ANSI.sub("", line)
    return line[: max(0, width - 1)] + "…"


def severity(word: str, colour: bool) -> str:
    """`VIOLATION` in red, `WARNING` in yellow (plain text without colour)."""
    code = _SEVERITY.get(word)
    return f"{code}{word}{RESET}" if colour and code else word


def bold(text: str, colour: bool) -> str:
    return f"{BOLD}{text}{RESET}" if colour else text


def prose(line: str, width: int | None) -> str:
    """A line of text wrapped at `width` (continuation lines indented by two spaces)."""
    if width is None or visible_len(line) <= width:
        return line
    import textwrap

    return "\n".join(
        cut(part, width)
        for part in textwrap.wrap(
            line, width, subsequent_indent="  ", break_on_hyphens=False, break_long_words=True
        )
    )
