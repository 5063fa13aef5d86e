"""The change under review: which paths differ between base and head, and how.

Owns the `Change`/`ChangeSet` models (added, modified, deleted, renamed, type-changed and
mode-only changes), parsing a plain list of changed files (for CI systems that only give
one, in plain or `git diff --name-status` form), and the default ignore globs (`*.md`,
`docs/**`, gitignore rules: `planner.globs`) for files that reach no cluster. Pure: git
itself is read by `planner.adapters.gitrepo`.
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from planner import snapshot
from planner.errors import ProblemCollector

DEFAULT_IGNORE: tuple[str, ...] = (
    "*.md",
    ".github/**",
    "docs/**",
    "LICENSE*",
    ".gitignore",
    ".gitattributes",
    "OWNERS*",
    "CODEOWNERS",
)

# Where wave-planner writes (emitted manifests, rollout state): its own files, never a
# changed file that "reaches no cluster".
OWN_OUTPUT: tuple[str, ...] = ("waves/**",)


class ChangeStatus(StrEnum):
    ADDED = "added"
    MODIFIED = "modified"
    DELETED = "deleted"
    RENAMED = "renamed"
    TYPE_CHANGED = "type-changed"
    MODE_ONLY = "mode-only"  # file mode changed, content identical: renders the same


class Change(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    path: str
    status: ChangeStatus
    old_path: str | None = None

    def paths(self) -> tuple[str, ...]:
        return (self.old_path, self.path) if self.old_path else (self.path,)


class ChangeSet(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    changes: tuple[Change, ...] = ()

    def files(self) -> list[str]:
        """Every touched path (a rename lists both sides), sorted."""
        return sorted({p for change in self.changes for p in change.paths()})

    def content_paths(self) -> list[str]:
        """Paths whose content or existence changed (mode-only changes excluded)."""
        return sorted(
            {p for c in self.changes if c.status != ChangeStatus.MODE_ONLY for p in c.paths()}
        )

    def structural(self) -> bool:
        """True when a file appeared, disappeared or changed type (the graph may differ)."""
        return any(
            c.status not in (ChangeStatus.MODIFIED, ChangeStatus.MODE_ONLY) for c in self.changes
        )


_STATUS_LETTERS = {
    "A": ChangeStatus.ADDED,
    "M": ChangeStatus.MODIFIED,
    "D": ChangeStatus.DELETED,
    "R": ChangeStatus.RENAMED,
    "C": ChangeStatus.ADDED,
    "T": ChangeStatus.TYPE_CHANGED,
}
_NAME_STATUS = re.compile(r"^([AMDRCT])(\d{0,3})\t(.+)$")


def parse_changed_files(text: str, *, source: str) -> ChangeSet:
    """A list of changed files: one path per line, or `git diff --name-status` lines."""
    errors = ProblemCollector()
    changes: list[Change] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip("\r")
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _NAME_STATUS.match(line)
        if match:
            letter, _, rest = match.groups()
            parts = rest.split("\t")
            status = _STATUS_LETTERS[letter]
            if letter in "RC" and len(parts) == 2:
                old = _clean(parts[0], source, number, errors)
                new = _clean(parts[1], source, number, errors)
                if old and new:
                    changes.append(
                        Change(path=new, status=status, old_path=old if letter == "R" else None)
                    )
                continue
            path = _clean(parts[-1], source, number, errors)
        else:
            status, path = ChangeStatus.MODIFIED, _clean(line, source, number, errors)
        if path:
            changes.append(Change(path=path, status=status))
    errors.raise_if_any()
    return ChangeSet(changes=tuple(sorted(changes, key=lambda c: (c.path, c.status))))


def _clean(path: str, source: str, line: int, errors: ProblemCollector) -> str | None:
    norm = snapshot.normalize(path.strip())
    if norm == "." or snapshot.escapes(norm) or path.strip().startswith("/"):
        errors.add(
            f"{path.strip()!r} is not a path inside the repository",
            file=source,
            key=f"line {line}",
            fix="list repository-relative paths, one per line",
        )
        return None
    return norm
