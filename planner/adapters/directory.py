"""A folder on disk as a `Snapshot`: a working tree, or a plain folder outside any repository.

Used where there is no revision to read (`--worktree`, `init` and `validate` on a folder) and
for git's working tree (`planner.adapters.gitrepo`). Files are read on demand; symbolic
links are kept as links, never followed; names that are not valid UTF-8 are skipped.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from planner import snapshot as snap_mod


class DirectorySnapshot(snap_mod.IndexedSnapshot):
    """Files of a folder on disk: a working tree, or a plain folder outside any repository."""

    def __init__(self, root: Path, paths: Iterable[str] | None = None) -> None:
        self.root = root
        self._files: set[str] = set()
        self._links: dict[str, str] = {}
        for rel in _walk(root) if paths is None else paths:
            full = root / rel
            if full.is_symlink():
                self._links[rel] = os.readlink(full)
            elif full.is_file():
                self._files.add(rel)
        self._index = snap_mod.DirectoryIndex(self._files | set(self._links))

    def _has_file(self, path: str) -> bool:
        return path in self._files

    @property
    def revision(self) -> str:
        return "worktree"

    def files(self) -> Iterable[str]:
        return iter(self._files)

    def read(self, path: str) -> bytes | None:
        if path not in self._files:
            return None
        try:
            return (self.root / path).read_bytes()
        except OSError:
            return None

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        return {p: data for p in paths if (data := self.read(p)) is not None}

    def blob_id(self, path: str) -> str | None:
        return None


def _walk(root: Path) -> Iterable[str]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d != ".git")
        for name in filenames:
            rel = (Path(dirpath) / name).relative_to(root).as_posix()
            if _printable(rel):
                yield rel


def _printable(path: str) -> bool:
    """File names that are not valid UTF-8 cannot be referenced by a kustomization: skip."""
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
