"""`git diff --raw -z` output as a ChangeSet. Pure parsing, no process."""

from __future__ import annotations

from planner.changes import Change, ChangeSet, ChangeStatus

_KINDS = {
    "A": ChangeStatus.ADDED,
    "C": ChangeStatus.ADDED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "T": ChangeStatus.TYPE_CHANGED,
}


def parse(out: bytes, prefix: str) -> ChangeSet:
    """`git diff --raw -z` output as a ChangeSet (a mode-only change is its own kind)."""
    tokens = out.decode("utf-8", errors="surrogateescape").split("\0")
    changes: list[Change] = []
    i = 0
    while i < len(tokens):
        meta = tokens[i]
        i += 1
        if not meta.startswith(":"):
            continue
        old_mode, new_mode, old_sha, new_sha, status = meta[1:].split(" ", 4)
        letter = status[:1]
        if letter in "RC":
            old_path, path = tokens[i], tokens[i + 1]
            i += 2
            if letter == "R":
                changes.append(Change(path=path, status=ChangeStatus.RENAMED, old_path=old_path))
            else:
                changes.append(Change(path=path, status=ChangeStatus.ADDED))
            continue
        path = tokens[i]
        i += 1
        kind = _KINDS.get(letter, ChangeStatus.MODIFIED)
        if kind == ChangeStatus.MODIFIED and old_sha == new_sha and old_mode != new_mode:
            kind = ChangeStatus.MODE_ONLY
        changes.append(Change(path=path, status=kind))
    if prefix:
        changes = [strip_prefix(c, prefix) for c in changes if c.path.startswith(prefix + "/")]
    return ChangeSet(changes=tuple(sorted(changes, key=lambda c: (c.path, c.status))))


def strip_prefix(change: Change, prefix: str) -> Change:
    cut = len(prefix) + 1
    old = (
        change.old_path[cut:]
        if change.old_path and change.old_path.startswith(prefix + "/")
        else None
    )
    return change.model_copy(update={"path": change.path[cut:], "old_path": old})
