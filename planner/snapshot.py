"""A read-only view of a repository's files at one revision.

The core never touches git or the file system: it reads through this protocol. Adapters
provide git-backed snapshots (`planner.adapters.gitrepo`); tests and the demo use
`MemorySnapshot`. Paths are repository-relative POSIX paths without a leading `./`.
"""

from __future__ import annotations

import functools
import posixpath
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol


class Snapshot(Protocol):
    """Files of one revision."""

    @property
    def revision(self) -> str:
        """The full commit SHA, or a label such as `worktree`."""
        ...

    def files(self) -> Iterable[str]:
        """Every file path, in any order."""
        ...

    def exists(self, path: str) -> bool: ...

    def is_dir(self, path: str) -> bool: ...

    def read(self, path: str) -> bytes | None:
        """The file's bytes, or None when it is not a file of this revision."""
        ...

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        """Bytes of every path that is a file (one round trip where the backend allows)."""
        ...

    def blob_id(self, path: str) -> str | None:
        """A content id (git blob SHA) for caching, or None when unknown."""
        ...

    def symlink_target(self, path: str) -> str | None:
        """Where a symbolic link points, or None when the path is not a link."""
        ...

    def resolve(self, path: str) -> tuple[str | None, tuple[str, ...]]:
        """The path with symbolic links resolved, and the links crossed on the way.

        The path is None when a link points outside the repository.
        """
        ...

    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        """(sub-folders, files) directly inside a folder, as full paths, sorted."""
        ...


@functools.lru_cache(maxsize=1 << 16)  # a plan asks for each cluster's path several times
def normalize(path: str) -> str:
    """Repository-relative normal form: `a/b`, `.` for the root, `..` kept when escaping."""
    stripped = path.strip().replace("\\", "/").lstrip("/")
    norm = posixpath.normpath(stripped) if stripped else "."
    return "." if norm in ("", ".") else norm


def join(directory: str, ref: str) -> str:
    """Resolve `ref` relative to `directory` (both repository-relative)."""
    if directory in ("", "."):
        return normalize(ref)
    return normalize(f"{directory}/{ref}")


def parent(path: str) -> str:
    head = posixpath.dirname(path)
    return head or "."


def escapes(path: str) -> bool:
    """True for a normalized path that leaves the repository root."""
    return path == ".." or path.startswith("../")


class DirectoryIndex:
    """Folders and their direct children, derived from a flat file list."""

    def __init__(self, paths: Iterable[str]) -> None:
        """`paths`: normalized file paths (as git lists them)."""
        self.dirs: set[str] = {"."}
        self._subdirs: dict[str, list[str]] = {}
        self._files: dict[str, list[str]] = {}
        dirs, files = self.dirs, self._files
        for path in paths:
            d = path.rpartition("/")[0] or "."  # `parent`, for a normalized path
            found = files.get(d)
            if found is None:
                files[d] = [path]
            else:
                found.append(path)
            while d not in dirs:
                dirs.add(d)
                up = d.rpartition("/")[0] or "."
                self._subdirs.setdefault(up, []).append(d)
                d = up

    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        return sorted(self._subdirs.get(path, ())), sorted(self._files.get(path, ()))


def resolve_links(
    path: str, link_target: Callable[[str], str | None]
) -> tuple[str | None, tuple[str, ...]]:
    """Resolve symbolic links component by component, staying inside the repository."""
    parts = path.split("/") if path != "." else []
    crossed: list[str] = []
    done: list[str] = []
    hops = 0
    while parts:
        done.append(parts.pop(0))
        current = "/".join(done)
        target = link_target(current)
        if target is None:
            continue
        hops += 1
        crossed.append(current)
        if hops > 40 or target.startswith("/"):
            return None, tuple(crossed)
        resolved = join(parent(current), target)
        if escapes(resolved):
            return None, tuple(crossed)
        # The target may itself go through links: walk it again from the root.
        parts = ([] if resolved == "." else resolved.split("/")) + parts
        done = []
    return ("/".join(done) or "."), tuple(crossed)


class IndexedSnapshot:
    """What every snapshot built from a flat file list shares: folders and symbolic links.

    Subclasses set `_index` (a DirectoryIndex over files and links) and `_links`
    (link path -> target), and say which paths are regular files (`_has_file`).
    """

    _index: DirectoryIndex
    _links: dict[str, str]

    def _has_file(self, path: str) -> bool:
        raise NotImplementedError

    def exists(self, path: str) -> bool:
        return self._has_file(path) or path in self._index.dirs

    def is_dir(self, path: str) -> bool:
        return path in self._index.dirs

    def symlink_target(self, path: str) -> str | None:
        return self._links.get(path)

    def resolve(self, path: str) -> tuple[str | None, tuple[str, ...]]:
        if not self._links:
            return path, ()
        return resolve_links(path, self._links.get)

    def list_dir(self, path: str) -> tuple[list[str], list[str]]:
        subdirs, files = self._index.list_dir(path)
        return subdirs, [f for f in files if f not in self._links]


class MemorySnapshot(IndexedSnapshot):
    """A snapshot held in memory: `{path: bytes}` (tests, the demo, the working tree)."""

    def __init__(
        self,
        files: Mapping[str, bytes],
        revision: str = "memory",
        symlinks: Mapping[str, str] | None = None,
    ) -> None:
        self._files = {normalize(p): data for p, data in files.items()}
        self._links = {normalize(p): t for p, t in (symlinks or {}).items()}
        self._revision = revision
        self._index = DirectoryIndex([*self._files, *self._links])

    @property
    def revision(self) -> str:
        return self._revision

    def _has_file(self, path: str) -> bool:
        return path in self._files

    def files(self) -> Iterable[str]:
        return self._files.keys()

    def read(self, path: str) -> bytes | None:
        return self._files.get(path)

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        return {p: self._files[p] for p in paths if p in self._files}

    def blob_id(self, path: str) -> str | None:
        return None
