"""Block YAML for plain data, written directly: the bytes of `planner.yamlsafe.dumpers`, fast.

A rollout state lists every cluster of the fleet and an emit writes thousands of manifests;
PyYAML's pure-Python emitter takes about a second for 10,000 clusters. For the data the
planner writes (mappings, lists, strings, integers, booleans, null) this module writes the
very bytes of the dialect's dumper, an order of magnitude faster. A `Dialect` says how keys
and scalars are written, whether a multi-line string becomes a literal block, and how a
sequence inside a sequence starts:

- `STATE` (`StateDumper`): a string of letters, digits and `._/-`, starting with a letter,
  `_` or `/`, that is not a YAML 1.1 boolean or null word, is written plain (PyYAML's own
  choice for it); any other single-line printable ASCII string takes PyYAML's choice, asked
  once per distinct string (times and commit SHAs: a handful per document); anything else
  (floats, non-ASCII or multi-line strings, long or unusual keys, other types, a scalar
  document) is declined and the caller uses PyYAML for the whole document;
- `MANIFEST` (`ManifestDumper`): the Go-YAML-safe quoting of `planner.yamlsafe.quoting`,
  decided here for every value (a float is a TypeError).

Property tests compare both writers on generated documents. Pure.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from planner.yamlsafe import dumpers, quoting


class Unsupported(Exception):
    """The dialect's dumper must write this document."""


@dataclass(frozen=True)
class Dialect:
    containers: tuple[type, ...]
    mappings: tuple[type, ...]
    key: Callable[[Any], str]
    scalar: Callable[[Any], str]
    literal: Callable[[Any], bool] | None
    nested_list_on_own_line: bool


def write(value: Any, dialect: Dialect) -> str | None:
    """The block YAML of a non-empty mapping or list, or None when the dumper must write it."""
    if _shape(value, dialect) is _SCALAR or not value:
        return None
    lines: list[str] = []
    try:
        _block(value, "", lines, dialect)
    except Unsupported:
        return None
    return "\n".join(lines) + "\n"


def _block(value: Any, pad: str, out: list[str], d: Dialect) -> None:
    inner = pad + "  "
    if _shape(value, d) is _MAPPING:
        for key, item in value.items():
            head = f"{pad}{d.key(key)}:"
            shape = _shape(item, d)
            if shape is not _SCALAR and item:
                out.append(head)
                _block(item, inner, out, d)
            elif shape is _SCALAR and d.literal is not None and d.literal(item):
                _literal(head, item, inner, out)
            else:
                out.append(f"{head} {_inline(item, shape, d)}")
        return
    for item in value:
        shape = _shape(item, d)
        if shape is not _SCALAR and item:
            if d.nested_list_on_own_line and shape is _LIST:
                out.append(f"{pad}-")
                _block(item, inner, out, d)
            else:
                start = len(out)
                _block(item, inner, out, d)
                out[start] = f"{pad}- {out[start][len(inner) :]}"
        elif shape is _SCALAR and d.literal is not None and d.literal(item):
            _literal(f"{pad}-", item, inner, out)
        else:
            out.append(f"{pad}- {_inline(item, shape, d)}")


_SCALAR, _MAPPING, _LIST = "scalar", "mapping", "list"


def _shape(value: Any, d: Dialect) -> str:
    """Scalar, mapping or (other) container in the dialect; exact built-in types first (an
    emit writes hundreds of thousands of values: the abstract-class checks are the cost)."""
    kind = type(value)
    if kind is str or kind is int or kind is bool or value is None:
        return _SCALAR
    if kind is dict:
        return _MAPPING
    if kind is list:
        return _LIST
    if isinstance(value, d.mappings):
        return _MAPPING
    return _LIST if isinstance(value, d.containers) else _SCALAR


def _literal(head: str, text: str, inner: str, out: list[str]) -> None:
    out.append(f"{head} |")
    out.extend(f"{inner}{line}" if line else "" for line in text[:-1].split("\n"))


def inline(value: Any, d: Dialect) -> str:
    return _inline(value, _shape(value, d), d)


def _inline(value: Any, shape: str, d: Dialect) -> str:
    if shape is _MAPPING:
        return "{}"
    if shape is _LIST:
        return "[]"
    return d.scalar(value)


# ---- the state dialect -----------------------------------------------------------------
_STATE_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9._/-]*")
_ASCII_LINE = re.compile(r"[\x20-\x7e]*")
_STATE_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
# PyYAML writes a key in the explicit `? key` form unless key and tag (`!!str`, 5 characters,
# counted though never written) take fewer than 128 characters.
_MAX_SIMPLE_KEY = 122


def _state_key(key: Any) -> str:
    if (
        not isinstance(key, str)
        or len(key) > _MAX_SIMPLE_KEY
        or not _STATE_PLAIN.fullmatch(key)
        or key.lower() in _STATE_WORDS
    ):
        raise Unsupported
    return key


def _state_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if not isinstance(value, str):
        raise Unsupported
    if _STATE_PLAIN.fullmatch(value) and value.lower() not in _STATE_WORDS:
        return value
    if not _ASCII_LINE.fullmatch(value):
        raise Unsupported
    return _ask_pyyaml(value)


@functools.lru_cache(maxsize=4096)
def _ask_pyyaml(value: str) -> str:
    text = dumpers.state_text(value)
    if text.endswith("\n...\n"):  # a plain scalar document ends with an explicit end marker
        text = text[: -len("\n...\n")]
    text = text.rstrip("\n")
    if "\n" in text:
        raise Unsupported
    return text


STATE = Dialect(
    containers=(dict, list),
    mappings=(dict,),
    key=_state_key,
    scalar=_state_scalar,
    literal=None,
    nested_list_on_own_line=False,
)
MANIFEST = Dialect(
    containers=(Mapping, list, tuple),
    mappings=(Mapping,),
    key=lambda key: quoting.scalar(str(key)),
    scalar=quoting.scalar,
    literal=quoting.block_text,
    nested_list_on_own_line=True,
)
