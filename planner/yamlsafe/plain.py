"""Plain block YAML, read without the YAML machinery (the same values, or no answer).

Nearly every file of a fleet (kustomizations, inventories) is block mappings and block
sequences of one-line plain scalars, repeated over thousands of files. Reading that subset
line by line costs a fraction of composing PyYAML nodes and constructing values from them,
so `load` does it, and answers None for any text outside the subset, which then goes
through the full loader (`planner.yamlsafe.loading`): the two must give the same value for
every text `load` accepts, and `load` accepts no text the full loader refuses (tests check
both on generated texts).

The subset (any other text answers None, whatever was built from it dropped):

- ASCII text, lines separated by `\\n`, no tab, no control character, no `#` except in a
  line that holds only a comment, no document marker (`---`, `...`) or directive;
- each line is `- ` entries (a block sequence), then `key: value`, `key:` or a value;
- keys and values are plain scalars: not starting with an indicator (`-?:,[]{}#&*!|>'"%@\\``;
  `-` only before a non-space), holding no `: ` (a line ending with `:` is a key; keys hold
  no `:` at all, nor are they over 1,024 characters: YAML's limit for a key on one line);
- a scalar is alone on its line only after `- `: a value on a line of its own (`key:`
  then an indented value, or a multi-line scalar) answers None;
- indentation as YAML's block structure wants it: the entries of a mapping or sequence at
  one column, a nested block further right (a sequence may sit at its key's column), and
  nothing left over;
- each scalar resolves (with the loader's resolvers, timestamps kept as strings) to a
  string, null, bool, int or float; the merge key `<<` and the value key `=` answer None;
- `strict`: a repeated key answers None (the full loader then names it and its line).
"""

from __future__ import annotations

import re
from typing import Any

import yaml

__all__ = ["load"]

_INDICATORS = frozenset("-?:,[]{}#&*!|>'\"%@`")
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]").search  # all but the newline
_MARKERS = ("---", "...")  # a document's start and end, at the start of a line
_MAX_KEY = 1024
_MAX_KNOWN = 200_000  # distinct lines (and scalars) remembered
_MAX_NESTING = 100  # deeper texts go to the full loader, which checks its depth limit
_Y = "tag:yaml.org,2002:"
_STR = _Y + "str"
_BUILT = frozenset({_Y + "null", _Y + "bool", _Y + "int", _Y + "float"})


class _Decline(Exception):
    """The text is outside the subset: the full loader reads it."""


_SEQ, _NEST, _PAIR, _ITEM = 0, 1, 2, 3  # `- `, `key:`, `key: value`, a value after `- `
_Entry = tuple[int, int, Any, Any]  # (column, kind, key or value, value)


class _Lines:
    """Line text -> its entries, with a loader's resolvers and SafeLoader's constructors.

    A fleet repeats its lines across thousands of files (`kind: Kustomization`,
    `  - ../../base`), so each distinct line is read once (and each distinct scalar
    resolved once); None stands for a line outside the subset."""

    def __init__(self, loader: type[yaml.SafeLoader]) -> None:
        self._resolvers = loader.yaml_implicit_resolvers
        self._constructors = loader.yaml_constructors
        self._constructor = yaml.constructor.SafeConstructor()
        self.known: dict[str, tuple[_Entry, ...] | None] = {}
        self._scalars: dict[str, Any] = {}

    def scalar(self, text: str) -> Any:
        found = self._scalars.get(text, _NO)
        if found is not _NO:
            return found
        tag = _STR
        for candidate, pattern in (
            *self._resolvers.get(text[0], ()),
            *self._resolvers.get(None, ()),
        ):
            if pattern.match(text):
                tag = candidate
                break
        if tag == _STR:
            found = text
        elif tag in _BUILT:
            found = self._constructors[tag](self._constructor, yaml.ScalarNode(tag, text))
        else:
            raise _Decline  # the merge key `<<`, the value key `=`
        if len(self._scalars) < _MAX_KNOWN:
            self._scalars[text] = found
        return found

    def read(self, raw: str) -> tuple[_Entry, ...] | None:
        if len(self.known) >= _MAX_KNOWN:
            self.known.clear()
        try:
            found: tuple[_Entry, ...] | None = self._entries(raw)
        except _Decline:
            found = None
        self.known[raw] = found
        return found

    def _entries(self, raw: str) -> tuple[_Entry, ...]:
        content = raw.lstrip(" ")
        if not content or content[0] == "#":
            return ()
        column = len(raw) - len(content)
        content = content.rstrip(" ")
        entries: list[_Entry] = []
        while content[0] == "-" and (len(content) == 1 or content[1] == " "):
            entries.append((column, _SEQ, None, None))
            rest = content[1:].lstrip(" ")
            if not rest:
                return tuple(entries)
            column += len(content) - len(rest)
            content = rest
        if "#" in content:
            raise _Decline  # a comment after an entry (or a `#` in a scalar)
        if content[-1] == ":":
            key, value = content[:-1].rstrip(" "), ""
        else:
            key, colon, value = content.partition(": ")
            if not colon:
                if not entries or not _starts_plain(content):
                    raise _Decline  # a value alone on its line: perhaps a continued one
                entries.append((column, _ITEM, self.scalar(content), None))
                return tuple(entries)
            key, value = key.rstrip(" "), value.lstrip(" ")
            if ": " in value or not _starts_plain(value):
                raise _Decline
        if not key or ":" in key or len(key) > _MAX_KEY or not _starts_plain(key):
            raise _Decline
        if value:
            entries.append((column, _PAIR, self.scalar(key), self.scalar(value)))
        else:
            entries.append((column, _NEST, self.scalar(key), None))
        return tuple(entries)


def _starts_plain(text: str) -> bool:
    """`text` (not empty, no space around) starts as a plain scalar does: with no indicator,
    or a `-` before a non-space."""
    first = text[0]
    return first not in _INDICATORS or (first == "-" and len(text) > 1 and text[1] != " ")


def _read(text: str, lines: _Lines, strict: bool) -> Any:
    """The one block node of `text` (None when it holds none), built line by line.

    `stack` holds the open blocks, innermost last, each [column, is a sequence, the
    container, the entry waiting for a nested block (a key; True for a sequence's last
    item) or _NO], under a sequence at column -1 whose one item is the top node."""
    top: list[Any] = [None]
    frame: list[Any] = [-1, True, top, True]
    stack = [frame]
    known = lines.known
    for raw in text.split("\n"):
        entries = known.get(raw)
        if entries is None:
            entries = lines.read(raw)
            if entries is None:
                raise _Decline
        for column, kind, key, value in entries:
            if kind == _ITEM:  # a value after `- ` on the same line: the item itself
                frame[2][-1] = key
                frame[3] = _NO
                continue
            dash = kind == _SEQ
            frame = stack[-1]
            if frame[0] != column or frame[1] != dash:
                frame = _block(stack, column, dash)
            if dash:
                frame[2].append(None)
                frame[3] = True
                continue
            if strict and key in frame[2]:
                raise _Decline
            frame[2][key] = value
            frame[3] = key if kind == _NEST else _NO
    return top[0]


def _block(stack: list[list[Any]], column: int, dash: bool) -> list[Any]:
    """The block an entry at `column` goes into: an open one (closing the blocks it is left
    of), or a new one nested in the entry waiting for it."""
    while stack[-1][0] > column:
        stack.pop()
    top = stack[-1]
    if top[0] == column and top[1] and not dash and stack[-2][0] == column:
        stack.pop()  # a key after a sequence at its key's column closes the sequence
        top = stack[-1]
    if top[0] == column and top[1] == dash:
        return top
    if top[3] is _NO or not (top[0] < column or (dash and not top[1] and top[0] == column)):
        raise _Decline  # a bad indent, a second node at the top, a nested block after a value
    made: Any = [] if dash else {}
    if top[1]:
        top[2][-1] = made
    else:
        top[2][top[3]] = made
    top[3] = _NO
    frame = [column, dash, made, _NO]
    stack.append(frame)
    if len(stack) > _MAX_NESTING:
        raise _Decline
    return frame


def load(text: str, loader: type[yaml.SafeLoader], *, strict: bool = False) -> list[Any] | None:
    """The documents of `text` (none or one) when it is plain block YAML, else None.

    `loader` gives the resolvers (which texts are null, bool, int, float): the full
    loader's own, so the two read every scalar alike."""
    if (
        not text.isascii()
        or _CONTROL(text) is not None
        or text.startswith(_MARKERS)
        or "\n---" in text
        or "\n..." in text
    ):
        return None
    lines = _LINES.get(loader)
    if lines is None:
        lines = _LINES[loader] = _Lines(loader)
    try:
        found = _read(text, lines, strict)
    except _Decline:
        return None
    return [] if found is None else [found]


_LINES: dict[type[yaml.SafeLoader], _Lines] = {}
_NO = object()  # no entry waits for a nested block
