"""PyYAML's block-style output for plain data, written directly (`planner.yamlsafe.dump`).

A rollout state lists every cluster of the fleet; PyYAML's pure-Python emitter takes about
a second for 10,000 of them, on every `advance`. For the data the planner dumps (mappings
with string keys, lists, strings, integers, booleans, null) this module writes the very
bytes `yaml.dump(..., Dumper=yamlsafe._Dumper)` writes, an order of magnitude faster:

- a string of letters, digits and `._/-`, starting with a letter, `_` or `/`, that is not
  a YAML 1.1 boolean or null word, is written plain (PyYAML's own choice for it);
- any other single-line printable ASCII string takes PyYAML's choice, asked once per
  distinct string (times and commit SHAs: a handful per document);
- anything else (floats, non-ASCII or multi-line strings, long or unusual keys, other
  types, a scalar document) returns None and the caller uses PyYAML for the whole document.

A property test compares both on generated documents. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9._/-]*")
_ASCII_LINE = re.compile(r"[\x20-\x7e]*")
_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
_MAX_SIMPLE_KEY = 128  # PyYAML writes longer keys in the explicit `? key` form


class _Unsupported(Exception):
    pass


def dump(value: Any, fallback: Callable[[str], str]) -> str | None:
    """The block YAML of `value`, or None when PyYAML must write it.

    `fallback(text)` is PyYAML's rendering of a lone string document, used for the strings
    this module does not decide itself.
    """
    if not isinstance(value, dict | list) or not value:
        return None
    lines: list[str] = []
    try:
        _block(value, 0, lines, fallback)
    except _Unsupported:
        return None
    return "\n".join(lines) + "\n"


def _block(value: Any, indent: int, out: list[str], fallback: Callable[[str], str]) -> None:
    pad = " " * indent
    if isinstance(value, dict):
        for key, item in value.items():
            name = _key(key)
            if isinstance(item, dict | list) and item:
                out.append(f"{pad}{name}:")
                _block(item, indent + 2, out, fallback)
            else:
                out.append(f"{pad}{name}: {_scalar(item, fallback)}")
        return
    for item in value:
        if isinstance(item, dict | list) and item:
            start = len(out)
            _block(item, indent + 2, out, fallback)
            out[start] = f"{pad}- {out[start][indent + 2 :]}"
        else:
            out.append(f"{pad}- {_scalar(item, fallback)}")


def _key(key: Any) -> str:
    if (
        not isinstance(key, str)
        or len(key) > _MAX_SIMPLE_KEY
        or not _PLAIN.fullmatch(key)
        or key.lower() in _WORDS
    ):
        raise _Unsupported
    return key


def _scalar(value: Any, fallback: Callable[[str], str]) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, dict):
        return "{}"
    if isinstance(value, list):
        return "[]"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise _Unsupported
    if _PLAIN.fullmatch(value) and value.lower() not in _WORDS:
        return value
    if not _ASCII_LINE.fullmatch(value):
        raise _Unsupported
    return _ask(value, fallback)


@functools.lru_cache(maxsize=4096)
def _ask(value: str, fallback: Callable[[str], str]) -> str:
    text = fallback(value)
    if text.endswith("\n...\n"):  # a plain scalar document ends with an explicit end marker
        text = text[: -len("\n...\n")]
    text = text.rstrip("\n")
    if "\n" in text:
        raise _Unsupported
    return text
