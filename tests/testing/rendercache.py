"""Which git objects a `kubectl kustomize` render of one folder can read: its cache key.

A render of folder P reads P's files and whatever its kustomization files name (resources,
components, patches, generators' files, Helm values, ...). The key here is the content of a
superset of that, found without knowing kustomize's fields: P's whole subtree, and every
folder or file of the revision that any string of any kustomization file reached so far
names (read relative to that file's folder, with a `key=` prefix removed), followed until
nothing new is named. Two revisions whose reached objects are identical render identically,
so a folder the change does not reach is rendered once, not once per revision.

Where the superset cannot be trusted (a kustomization file that does not parse, a symlink
or a submodule on the way) the key is the whole revision's tree: rendered per revision, as
if there were no reuse.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import posixpath
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

KFILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
SYMLINK = "120000"
SUBMODULE = "160000"


@dataclass
class Objects:
    """The objects of one revision: path -> (mode, type, object id); "." is the root tree."""

    root: Path
    entries: dict[str, tuple[str, str, str]]
    paths: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.paths = sorted(self.entries)

    @classmethod
    def of(cls, repo: Path, rev: str, root: Path) -> Objects:
        out = subprocess.run(
            ["git", "-C", str(repo), "ls-tree", "-r", "-t", "-z", "--full-tree", rev],
            capture_output=True,
            check=True,
        ).stdout.decode()
        tree = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", f"{rev}^{{tree}}"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        entries = {".": ("040000", "tree", tree)}
        for line in out.split("\0"):
            if line:
                meta, _, path = line.partition("\t")
                mode, kind, oid = meta.split(" ")
                entries[path] = (mode, kind, oid)
        return cls(root, entries)

    def below(self, folder: str) -> Iterator[str]:
        """Every path inside folder (not folder itself)."""
        if folder == ".":
            yield from (p for p in self.paths if p != ".")
            return
        prefix = folder + "/"
        start = bisect.bisect_left(self.paths, prefix)
        for path in self.paths[start:]:
            if not path.startswith(prefix):
                return
            yield path


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _named(folder: str, text: str) -> Iterator[str]:
    for candidate in {text.strip(), text.partition("=")[2].strip()}:
        if candidate and "\n" not in candidate and not posixpath.isabs(candidate):
            joined = posixpath.normpath(posixpath.join(folder, candidate))
            if joined != ".." and not joined.startswith("../"):
                yield joined


def reach_key(objects: Objects, path: str) -> str:
    """A digest of every object a render of `path` can read (see the module docstring)."""
    named: dict[str, str] = {}
    todo = [posixpath.normpath(path)]
    while todo:
        current = todo.pop()
        if current in named or current not in objects.entries:
            continue
        mode, kind, oid = objects.entries[current]
        if mode in (SYMLINK, SUBMODULE):
            return "tree:" + objects.entries["."][2]
        named[current] = oid
        if kind != "tree":
            continue
        for inner in objects.below(current):
            inner_mode = objects.entries[inner][0]
            if inner_mode in (SYMLINK, SUBMODULE):
                return "tree:" + objects.entries["."][2]
            if posixpath.basename(inner) not in KFILES:
                continue
            try:
                docs = list(yaml.load_all((objects.root / inner).read_text(), Loader=_LOADER))
            except (yaml.YAMLError, UnicodeDecodeError):
                return "tree:" + objects.entries["."][2]
            for text in _strings(docs):
                todo.extend(_named(posixpath.dirname(inner) or ".", text))
    return hashlib.sha256(json.dumps(sorted(named.items())).encode()).hexdigest()


KEPT_ROOT = Path(__file__).resolve().parent.parent.parent / ".pytest_cache" / "d" / "renders"
"""Renders kept between runs, as compiled bytecode is (tests/conftest.py): pytest's cache
folder is ignored by git and `pytest --cache-clear` empties it."""


def _identity(renderer: str) -> str:
    """What a render depends on besides its input: the renderer binary (path, size,
    modification time) and the code around it (this module and the emulator's)."""
    digest = hashlib.sha256()
    found = Path(renderer).resolve()
    info = found.stat()
    digest.update(f"{found}\0{info.st_size}\0{info.st_mtime_ns}\0".encode())
    for module in ("rendercache.py", "controllers.py"):
        digest.update((Path(__file__).resolve().parent / module).read_bytes())
    return digest.hexdigest()[:32]


@dataclass
class KeptRenders:
    """Render results (JSON text) by input key, kept on disk between runs beside those of
    this run in memory. A key names an input by content (see `reach_key`), so a kept
    result is exactly what the renderer gave for those bytes."""

    renderer: str
    memory: dict[str, str] = field(default_factory=dict)
    _folder: list[Path | None] = field(default_factory=list)

    def folder(self) -> Path | None:
        if not self._folder:
            folder: Path | None = None
            try:
                folder = KEPT_ROOT / _identity(self.renderer)
                folder.mkdir(parents=True, exist_ok=True)
                for other in KEPT_ROOT.iterdir():  # renders of another kubectl or code
                    if other != folder:
                        shutil.rmtree(other, ignore_errors=True)
            except OSError:
                folder = None  # a checkout that cannot be written: this run only
            self._folder.append(folder)
        return self._folder[0]

    def get(self, key: str) -> str | None:
        if key not in self.memory:
            folder = self.folder()
            path = folder / hashlib.sha256(key.encode()).hexdigest() if folder else None
            if path is None or not path.is_file():
                return None
            self.memory[key] = path.read_text()
        return self.memory[key]

    def put(self, key: str, value: str) -> str:
        self.memory[key] = value
        folder = self.folder()
        if folder is not None:
            path = folder / hashlib.sha256(key.encode()).hexdigest()
            fd, tmp = tempfile.mkstemp(dir=folder, prefix=".new-")
            with os.fdopen(fd, "w") as out:
                out.write(value)
            os.replace(tmp, path)  # whole or not at all
        return value
