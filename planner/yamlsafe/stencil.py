"""Manifest documents written once with placeholders, then filled per object: the same bytes.

An emit writes one file per cluster whose documents differ only in a few values (the
cluster's name, path, revision, wave and step). Writing each with the block writer costs
a walk of every key and value; a `Stencil` writes the documents once, built from
placeholder values, and fills each file by putting the written text of its own values where
the placeholders are. The bytes are those of `dump_manifests` of the documents built from
the real values, because in the manifest dialect a string value is written on its own,
whatever surrounds it (`quoting.scalar`), unless it becomes a literal block, and `fill`
declines such a value. The documents must use the values only inside string values, never
in keys or to decide the shape (a caller keeps one stencil per shape).

Each document's size as compact JSON (`json_size`, the etcd budget) is filled the same way.
`Stencil.of` declines (None) documents it cannot fill exactly; callers then write each file
with `dump_manifests`. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from planner.yamlsafe import quoting
from planner.yamlsafe.blocks import MANIFEST, write

_MARK = "WpStencil"
_SLOT = re.compile(_MARK + r"Slot(\d+)End")


def placeholders(names: Sequence[str]) -> dict[str, str]:
    """A placeholder string per value name: plain text no real value contains."""
    return {name: f"{_MARK}{index}Value" for index, name in enumerate(names)}


@dataclass(frozen=True)
class Stencil:
    names: tuple[str, ...]  # the value names, in the order of `placeholders`
    patterns: tuple[str, ...]  # per slot: the string value, with the placeholders in it
    parts: tuple[str, ...]  # the written text split around slots: text, slot, text, ...
    json_sizes: tuple[int, ...]  # per document, with every slot as its placeholder
    slots_in: tuple[tuple[int, ...], ...]  # per document: how often each slot occurs

    @classmethod
    def of(cls, documents: Sequence[Mapping[str, Any]], names: Sequence[str]) -> Stencil | None:
        """The stencil of `documents`, built from `placeholders(names)`; None when a
        placeholder sits in a key or the text cannot be split exactly."""
        marks = placeholders(names)
        patterns: dict[str, int] = {}
        counts: list[dict[int, int]] = []
        slotted = []
        try:
            for document in documents:
                seen: dict[int, int] = {}
                slotted.append(_slotted(document, patterns, seen))
                counts.append(seen)
        except _InKey:
            return None
        texts = [write(document, MANIFEST) for document in slotted]
        if any(text is None for text in texts):
            return None
        text = "---\n".join(t for t in texts if t is not None)
        if text.count(_MARK) != sum(sum(c.values()) for c in counts):
            return None  # a placeholder written other than as a whole value, or a collision
        for slot in patterns.values():
            if quoting.scalar(_slot(slot)) != _slot(slot):
                return None
        order = sorted(patterns, key=patterns.__getitem__)
        return cls(
            names=tuple(names),
            patterns=tuple(_patterned(p, marks) for p in order),
            parts=tuple(_SLOT.split(text)),
            json_sizes=tuple(_json_size(d) for d in slotted),
            slots_in=tuple(tuple(c.get(i, 0) for i in range(len(order))) for c in counts),
        )

    def fill(self, values: Mapping[str, str]) -> tuple[bytes, tuple[int, ...]] | None:
        """The bytes of `dump_manifests` of the documents built from `values`, and each
        document's `json_size`; None when a value would not be written inline."""
        if any(_MARK in value for value in values.values()):
            return None
        given = [values[name] for name in self.names]
        actual = [_fill_pattern(pattern, given) for pattern in self.patterns]
        if any(quoting.block_text(value) for value in actual):
            return None
        written = [quoting.scalar(value) for value in actual]
        out = list(self.parts)
        for index in range(1, len(out), 2):
            out[index] = written[int(out[index])]
        growth = [_string_size(value) - len(_slot(i)) - 2 for i, value in enumerate(actual)]
        sizes = tuple(
            size + sum(n * g for n, g in zip(counts, growth, strict=True))
            for size, counts in zip(self.json_sizes, self.slots_in, strict=True)
        )
        return "".join(out).encode(), sizes


class _InKey(Exception):
    """A placeholder in a mapping key: not a stencil."""


def _slot(index: int) -> str:
    return f"{_MARK}Slot{index}End"


def _slotted(value: Any, patterns: dict[str, int], seen: dict[int, int]) -> Any:
    """`value` with every string that holds a placeholder replaced by its slot."""
    if isinstance(value, str):
        if _MARK not in value:
            return value
        index = patterns.setdefault(value, len(patterns))
        seen[index] = seen.get(index, 0) + 1
        return _slot(index)
    if isinstance(value, Mapping):
        if any(isinstance(k, str) and _MARK in k for k in value):
            raise _InKey
        return {k: _slotted(v, patterns, seen) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_slotted(v, patterns, seen) for v in value]
    return value


def _patterned(pattern: str, marks: Mapping[str, str]) -> str:
    """The pattern with each placeholder as `{index}` (a format string; braces doubled)."""
    text = pattern.replace("{", "{{").replace("}", "}}")
    for index, mark in enumerate(marks.values()):
        text = text.replace(mark, "{" + str(index) + "}")
    return text


def _fill_pattern(pattern: str, values: Sequence[str]) -> str:
    return pattern.format(*values)


def _string_size(text: str) -> int:
    """`_json_size` of a string; plain printable ASCII is itself in quotes."""
    if text.isascii() and text.isprintable() and '"' not in text and "\\" not in text:
        return len(text) + 2
    return _json_size(text)


def _json_size(document: Any) -> int:
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
