"""Go-YAML-safe quoting: how a string is written so that every Kubernetes reader reads it back.

Emitted manifests are read by Go's yaml libraries (kubectl, the controllers), by YAML 1.1
and by YAML 1.2 readers. The rule is conservative:

- a string is written plain only when it is made of letters, digits and `._/@:=+,-`,
  starts with a letter, `_` or `/`, and no YAML reader could take it for something else:
  Go's yaml libraries read plain `y`, `n`, `on`, `0o17`, `1e3` or `1_000` as booleans and
  numbers, YAML 1.1 reads `yes`/`no`, so those words, anything starting with a digit, sign
  or dot, and every hex string (commit SHAs, quoted so that all revisions look alike) are
  quoted;
- other printable strings are single-quoted (`'` doubled);
- anything with a line break or control character is double-quoted with escapes;
- a multi-line value (patch texts) is a literal block (`|`) when it reads back unchanged.

So a value taken from the inventory always arrives as the same string and can never break
out of its scalar. `style` is the rule (what `planner.yamlsafe.dumpers.ManifestDumper`
hands PyYAML), `scalar` the text it gives for one value. Pure.
"""

from __future__ import annotations

import functools
import re
from typing import Any

PLAIN = ""
SINGLE = "'"
DOUBLE = '"'
LITERAL = "|"

_WORDS = frozenset({"y", "n", "yes", "no", "on", "off", "true", "false", "null", "~", "nan", "inf"})
_HEX = re.compile(r"^[0-9a-f]{7,64}$")
_PLAIN = re.compile(r"^[A-Za-z_/][A-Za-z0-9._/@:=+,-]*$")
_PRINTABLE = re.compile(r"^[\x20-\x7e\u00a0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd]*$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def ambiguous(text: str) -> bool:
    """Could some YAML reader (1.1, 1.2, Go) read this plain scalar as a non-string?

    Hex strings (commit SHAs) count as ambiguous, so that every revision looks alike.
    """
    if not text or _HEX.fullmatch(text):
        return True
    if text.lower() in _WORDS:
        return True
    return text[0].isdigit() or text[0] in "+-.~"


def style(text: str) -> str:
    """How a one-line scalar is written: PLAIN, SINGLE or DOUBLE (quoted)."""
    if _PLAIN.fullmatch(text) and not text.endswith(":") and not ambiguous(text):
        return PLAIN
    if _PRINTABLE.fullmatch(text):
        return SINGLE
    return DOUBLE


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
    if type(value) is str:
        return _string(value)
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot emit {type(value).__name__} as YAML")
    return _string(str(value))


@functools.lru_cache(maxsize=1 << 16)
def _string(value: str) -> str:
    """A string's text, once per distinct string: an emit writes the same keys, labels and
    revisions for every cluster."""
    chosen = style(value)
    if chosen == PLAIN:
        return value
    if chosen == SINGLE:
        return "'" + value.replace("'", "''") + "'"
    return double_quoted(value)


def double_quoted(text: str) -> str:
    return '"' + "".join(_escape(ch) for ch in text) + '"'


def _escape(ch: str) -> str:
    if ch in _ESCAPES:
        return _ESCAPES[ch]
    code = ord(ch)
    if 0x20 <= code <= 0x7E or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029)):
        return ch
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def block_text(value: Any) -> bool:
    """A multi-line string written as a literal block (`|`): printable lines, one final
    line break, no line starting with a space first (patch texts, read back unchanged)."""
    if not isinstance(value, str) or not value.endswith("\n") or value.endswith("\n\n"):
        return False
    lines = value[:-1].split("\n")
    return (
        len(lines) > 1
        and bool(lines[0])
        and not lines[0].startswith(" ")
        and all(_PRINTABLE.fullmatch(line) and line == line.rstrip() for line in lines)
    )
