"""The bytecode installers compiled, found where Python looks once bytecode is kept under a
prefix (`sys.pycache_prefix`, set by tests/conftest.py where writing it beside the sources
is forbidden).

With a prefix, Python reads and writes every module's bytecode there and never in the
`__pycache__/` folders beside the sources, so a first run would compile again the standard
library and every installed package the suite imports (about 700 modules, 3 CPU-s), though
their installer compiled them already. `seed_installed` links (or copies) the installed
bytecode of the modules imported so far, and of every module imported later through the
path finder, to where the prefix puts it, unless something is there already. The bytecode
is the installer's own, validated by Python as always (against the source's size and
mtime, or its hash), so a stale one is compiled again as before. The project's modules
have no installed bytecode: the run compiles them, once.
"""

from __future__ import annotations

import importlib.util
import os
import sys
import tempfile
from collections.abc import Sequence
from importlib.machinery import ModuleSpec, PathFinder, SourceFileLoader
from types import ModuleType


def _installed(source: str) -> str | None:
    """The bytecode an installer writes for `source` (`__pycache__/<name>.<tag>.pyc`)."""
    tag = sys.implementation.cache_tag
    head, name = os.path.split(source)
    stem, ext = os.path.splitext(name)
    if tag is None or ext != ".py":
        return None
    return os.path.join(head, "__pycache__", f"{stem}.{tag}.pyc")


def link_installed(source: str) -> None:
    """Put the installed bytecode of `source` where the prefix keeps it, if it is missing."""
    installed = _installed(source)
    if installed is None or sys.pycache_prefix is None:
        return
    try:
        target = importlib.util.cache_from_source(source)
        if os.path.exists(target) or not os.path.isfile(installed):
            return
        os.makedirs(os.path.dirname(target), exist_ok=True)
        try:
            os.link(installed, target)
        except OSError:  # another file system: a copy, whole or not at all
            fd, tmp = tempfile.mkstemp(dir=os.path.dirname(target), prefix=".seed-")
            with os.fdopen(fd, "wb") as out, open(installed, "rb") as data:
                out.write(data.read())
            os.replace(tmp, target)
    except (OSError, ValueError, NotImplementedError):
        return  # compiled as before


class _Seeding(PathFinder):
    """The path finder, linking the installed bytecode of each source module it finds."""

    @classmethod
    def find_spec(
        cls,
        fullname: str,
        path: Sequence[str] | None = None,
        target: ModuleType | None = None,
    ) -> ModuleSpec | None:
        spec = PathFinder.find_spec(fullname, path, target)
        if spec is not None and isinstance(spec.loader, SourceFileLoader) and spec.origin:
            link_installed(spec.origin)
        return spec


def seed_installed() -> None:
    """Link the installed bytecode of the modules imported so far (for child Pythons), and
    of those imported from now on (a finder placed just before the path finder)."""
    for module in list(sys.modules.values()):
        source = getattr(module, "__file__", None)
        if isinstance(source, str):
            link_installed(source)
    if PathFinder in sys.meta_path and _Seeding not in sys.meta_path:
        sys.meta_path.insert(sys.meta_path.index(PathFinder), _Seeding)
