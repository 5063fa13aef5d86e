"""Values in the pull-request comment: escaped so that nothing taken from the repository or
the inventory can break the Markdown or inject HTML, clipped so that one value cannot fill
the comment, and counted in words. Pure."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

# --------------------------------------------------------------------------- escaping

_MARKDOWN_SPECIAL = frozenset("\\`*_[]|~$")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def text(value: str) -> str:
    """Inline Markdown that shows `value` literally (also inside a table cell)."""
    out = []
    for ch in value:
        if ch in _HTML_SPECIAL:
            out.append(_HTML_SPECIAL[ch])
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif _is_control(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def code(value: str) -> str:
    """A name or path in monospace (GitHub links no mention or issue inside `<code>`)."""
    return f"<code>{text(clip(value, 300))}</code>"


def pre(value: str) -> str:
    """Text for a `<pre>` block: HTML-escaped, so it cannot end the block early."""
    out = []
    for ch in "\n".join(clip(line, 500) for line in value.split("\n")):
        if ch in _HTML_SPECIAL:
            out.append(_HTML_SPECIAL[ch])
        elif ch != "\n" and _is_control(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def clip(value: str, limit: int = 200) -> str:
    """Free text from the user, cut so that one value cannot fill the comment."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _is_control(ch: str) -> bool:
    return ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in "\u2028\u2029"


# --------------------------------------------------------------------------- numbers


def counted(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def name_list(names: Sequence[str], limit: int, fmt: Callable[[str], str] = code) -> str:
    shown = ", ".join(fmt(n) for n in names[:limit])
    return shown + (f" +{len(names) - limit:,} more" if len(names) > limit else "")
