"""The rendered change of one cluster as a unified diff, object by object.

Precise mode compares a cluster's rendered objects at base and at head (`planner.precise`).
This module turns the two states into what a reviewer reads: for every object added, removed
or changed (kind/namespace/name), a unified diff of its canonical text. The canonical text is
block YAML with the keys sorted at every level, preceded by the unit the object was rendered
from (`# source: clusters/prod-eu-west-1`), so the same object always reads the same.

Secrets never appear: the values under a Secret's `data` and `stringData` are replaced by
`<masked sha256:…>` (the first 16 hex digits of the value's SHA-256), so a changed value
still shows as a changed line and an unchanged one as unchanged, and the value itself is
never written anywhere.

Pure and deterministic; identical object pairs are diffed once (`DiffMemo`).
"""

from __future__ import annotations

import difflib
import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from planner import yamlsafe

ObjectId = tuple[str, str, str]  # kind, namespace, name
Change = Literal["added", "removed", "changed"]
SECRET_FIELDS = ("data", "stringData")
CONTEXT_LINES = 3


@dataclass(frozen=True)
class ClusterDiff:
    """A cluster's rendered change: the objects and their unified diffs (one text)."""

    objects: tuple[tuple[str, Change], ...]
    text: str


# ---------------------------------------------------------------------- canonical text


def mask(value: Any) -> str:
    """What a Secret value becomes: a short hash, so changes stay visible."""
    raw = value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str)
    return f"<masked sha256:{hashlib.sha256(raw.encode()).hexdigest()[:16]}>"


def masked(doc: Any) -> Any:
    """The document with a Secret's `data` and `stringData` values masked."""
    if not isinstance(doc, Mapping) or doc.get("kind") != "Secret":
        return doc
    out = dict(doc)
    for key in SECRET_FIELDS:
        if key not in out:
            continue
        values = out[key]
        if isinstance(values, Mapping):
            out[key] = {str(k): mask(v) for k, v in values.items()}
        elif values is not None:
            out[key] = mask(values)
    return out


def object_text(source: str, doc: Any) -> str:
    """The canonical text of one rendered object (ends with a newline)."""
    return f"# source: {source}\n{yamlsafe.dump_sorted(masked(doc))}"


def _texts(canonicals: Iterable[str]) -> str:
    """The text of the documents sharing one identity (usually one)."""
    parts = []
    for item in canonicals:
        parsed = json.loads(item)
        parts.append(object_text(str(parsed.get("from", "")), parsed.get("doc")))
    return "---\n".join(parts)


# ------------------------------------------------------------------------------ diffs


def object_name(ident: ObjectId) -> str:
    kind, namespace, name = ident
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def unified(name: str, before: str | None, after: str | None) -> str:
    """The unified diff of one object (`None`: the object does not exist on that side)."""
    old = before.splitlines(keepends=True) if before is not None else []
    new = after.splitlines(keepends=True) if after is not None else []
    lines = difflib.unified_diff(
        old,
        new,
        fromfile=f"a/{name}" if before is not None else "/dev/null",
        tofile=f"b/{name}" if after is not None else "/dev/null",
        n=CONTEXT_LINES,
    )
    out = []
    for line in lines:
        out.append(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n")
    return "".join(out)


@dataclass
class DiffMemo:
    """Object diffs already computed, by the canonical texts on both sides."""

    seen: dict[tuple[tuple[str, ...], tuple[str, ...]], str] = field(default_factory=dict)

    def diff(self, ident: ObjectId, before: tuple[str, ...], after: tuple[str, ...]) -> str:
        key = (before, after)
        if key not in self.seen:
            self.seen[key] = unified(
                object_name(ident),
                _texts(before) if before else None,
                _texts(after) if after else None,
            )
        return self.seen[key]


def cluster_diff(
    base: Iterable[tuple[ObjectId, str]],
    head: Iterable[tuple[ObjectId, str]],
    memo: DiffMemo | None = None,
) -> ClusterDiff:
    """Every object that differs between the two rendered states, in identity order."""
    memo = memo or DiffMemo()
    old, new = group_objects(base), group_objects(head)
    objects: list[tuple[str, Change]] = []
    parts: list[str] = []
    for ident in sorted(old.keys() | new.keys()):
        before, after = tuple(old.get(ident, ())), tuple(new.get(ident, ()))
        if before == after:
            continue
        change: Change = "added" if not before else "removed" if not after else "changed"
        text = memo.diff(ident, before, after)
        objects.append((object_name(ident), change))
        parts.append(text)
    return ClusterDiff(objects=tuple(objects), text="".join(parts))


def group_objects(objects: Iterable[tuple[ObjectId, str]]) -> dict[ObjectId, list[str]]:
    """Each object's texts, in order (an object may be rendered more than once)."""
    grouped: dict[ObjectId, list[str]] = {}
    for ident, text in objects:
        grouped.setdefault(ident, []).append(text)
    return grouped
