"""YAML for Kubernetes readers: emitted manifests that every consumer reads back identically.

Emitted manifests hold only mappings with string keys, lists, strings, booleans, integers
and null, so this module writes them itself (fast enough for 10,000 documents, and with
quoting decided here rather than by a general-purpose dumper). The rule is conservative:

- a string is written plain only when it is made of letters, digits and `._/@:=+,-`,
  starts with a letter, `_` or `/`, and no YAML reader could take it for something else:
  Go's yaml libraries (what kubectl and the controllers use) read plain `y`, `n`, `on`,
  `0o17`, `1e3` or `1_000` as booleans and numbers, YAML 1.1 reads `yes`/`no`, so those
  words, anything starting with a digit, sign or dot, and every hex string (commit SHAs,
  quoted so that all revisions look alike) are quoted;
- other printable strings are single-quoted (`'` doubled);
- anything with a line break or control character is double-quoted with escapes.

So a value taken from the inventory always arrives as the same string and can never
break out of its scalar. Block style, two-space indent, sequences indented under their key
(as kubectl writes them), keys in the order given. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

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


def scalar(value: Any) -> str:
    """One scalar as YAML text."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise TypeError(f"cannot emit {type(value).__name__} as YAML")
    if _PLAIN.fullmatch(value) and not value.endswith(":") and not ambiguous(value):
        return value
    if _PRINTABLE.fullmatch(value):
        return "'" + value.replace("'", "''") + "'"
    return '"' + "".join(_escape(ch) for ch in value) + '"'


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


def _lines(value: Any, indent: str, out: list[str]) -> None:
    """Append the block lines of a mapping or list (never a scalar) at `indent`."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            head = f"{indent}{scalar(str(key))}:"
            _member(head, item, indent, out)
    else:
        for item in value:
            if isinstance(item, Mapping) and item:
                first: list[str] = []
                _lines(item, indent + "  ", first)
                first[0] = f"{indent}- " + first[0][len(indent) + 2 :]
                out.extend(first)
            elif block_text(item):
                _block_lines(f"{indent}-", item, indent, out)
            elif _is_block(item):
                out.append(f"{indent}-")
                _lines(item, indent + "  ", out)
            else:
                out.append(f"{indent}- {_inline(item)}")


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


def _block_lines(head: str, value: str, indent: str, out: list[str]) -> None:
    out.append(f"{head} |")
    out.extend(f"{indent}  {line}" if line else "" for line in value[:-1].split("\n"))


def _member(head: str, item: Any, indent: str, out: list[str]) -> None:
    if block_text(item):
        _block_lines(head, item, indent, out)
    elif _is_block(item):
        out.append(head)
        _lines(item, indent + "  ", out)
    else:
        out.append(f"{head} {_inline(item)}")


def _is_block(value: Any) -> bool:
    return isinstance(value, Mapping | list | tuple) and bool(value)


def _inline(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    return scalar(value)


def dump(value: Mapping[str, Any] | Sequence[Any]) -> str:
    """One YAML document (a mapping or a list), deterministic."""
    if not _is_block(value):
        return _inline(value) + "\n"
    out: list[str] = []
    _lines(value, "", out)
    return "\n".join(out) + "\n"


def dump_all(documents: Sequence[Mapping[str, Any]]) -> bytes:
    """Several documents separated by `---`, as UTF-8 bytes."""
    return "---\n".join(dump(doc) for doc in documents).encode()


def json_size(document: Any) -> int:
    """Bytes the object takes as compact JSON (how the API server stores custom resources)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
