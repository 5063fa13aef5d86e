"""The files of one commit, read from git objects (`ls-tree` once, blobs in batches)."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING, NamedTuple

from planner import snapshot as snap_mod

if TYPE_CHECKING:
    from planner.adapters.gitrepo.repo import GitRepo

SYMLINK_MODE = "120000"


class _Entry(NamedTuple):
    mode: str
    sha: str


class GitSnapshot(snap_mod.IndexedSnapshot):
    """The files of one commit, read from git objects."""

    def __init__(self, repo: GitRepo, rev: str) -> None:
        self.repo = repo
        self._revision = rev
        self._entries: dict[str, _Entry] = {}
        entries = self._entries
        tree = f"{rev}:{repo.prefix}" if repo.prefix else rev
        out = repo.git("ls-tree", "-r", "-z", "--full-tree", tree)
        for record in out.decode(errors="replace").split("\0"):
            if not record:
                continue
            meta, path = record.split("\t", 1)
            mode, kind, sha = meta.split(" ")
            if kind == "blob":
                entries[path] = _Entry(mode, sha)
        self._index = snap_mod.DirectoryIndex(self._entries)
        self._ahead: threading.Thread | None = None
        self._read_ahead: dict[str, bytes] = {}
        self._links: dict[str, str] = {}
        link_shas = [e.sha for e in self._entries.values() if e.mode == SYMLINK_MODE]
        if link_shas:
            blobs = repo.read_blobs(link_shas)
            self._links = {
                p: blobs.get(e.sha, b"").decode(errors="replace")
                for p, e in self._entries.items()
                if e.mode == SYMLINK_MODE
            }

    def _has_file(self, path: str) -> bool:
        return path in self._entries

    @property
    def revision(self) -> str:
        return self._revision

    def files(self) -> Iterable[str]:
        return (p for p, e in self._entries.items() if e.mode != SYMLINK_MODE)

    def read(self, path: str) -> bytes | None:
        entry = self._entries.get(path)
        if entry is None or entry.mode == SYMLINK_MODE:
            return None
        return self.repo.read_blob(entry.sha)

    def read_many(self, paths: Iterable[str]) -> dict[str, bytes]:
        wanted = {p: e.sha for p in paths if (e := self._entries.get(p)) and e.mode != SYMLINK_MODE}
        if self._ahead is not None:
            self._ahead.join()
            self._ahead = None
        ready = self._read_ahead
        blobs = self.repo.read_blobs(sha for sha in wanted.values() if sha not in ready)
        # taken, not copied: the caller holds them now (a whole fleet's files otherwise
        # stay in memory twice until the snapshot goes)
        blobs.update((sha, ready.pop(sha)) for sha in set(wanted.values()) if sha in ready)
        return {p: blobs[sha] for p, sha in wanted.items() if sha in blobs}

    def read_ahead(self, paths: Iterable[str]) -> None:
        """Start reading these files in the background (one `git cat-file --batch`), so the
        I/O overlaps with other work; `read_many` then takes them from memory."""
        shas = [e.sha for p in paths if (e := self._entries.get(p)) and e.mode != SYMLINK_MODE]
        if len(shas) < 2 or self._ahead is not None:
            return

        def work() -> None:
            self._read_ahead = self.repo.read_blobs(shas)

        self._ahead = threading.Thread(target=work, name="git-read-ahead", daemon=True)
        self._ahead.start()

    def blob_id(self, path: str) -> str | None:
        entry = self._entries.get(path)
        return entry.sha if entry else None
