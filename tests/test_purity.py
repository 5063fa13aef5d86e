"""The core decides everything and touches nothing: it imports no adapter and no I/O library.

The core is derived from the layout: every module under planner/ except the edges (the
packages adapters/, api/ and cli/, the `python -m planner` entry point) and the demo fleet's
data. A new module is core unless it lives in an edge package; a core module that cannot be
imported fails here rather than being skipped.
"""

from __future__ import annotations

import ast
import importlib
import importlib.util
from pathlib import Path

import pytest

from tests.testing.paths import ROOT

PACKAGE = ROOT / "planner"
EDGE_PACKAGES = ("adapters", "api", "cli")
EDGE_MODULES = ("__main__.py",)
DATA = (PACKAGE / "demo" / "fleet",)
FORBIDDEN = (
    "planner.adapters",
    "planner.cli",
    "planner.api",
    "git",
    "subprocess",
    "shutil",
    "tempfile",
    "typer",
)


def core_modules() -> list[str]:
    """Dotted names of the core modules (planner.x.y), from the files under planner/."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE)
        if rel.parts[0] in EDGE_PACKAGES or rel.as_posix() in EDGE_MODULES:
            continue
        if any(path.is_relative_to(folder) for folder in DATA):
            continue
        parts = ["planner", *rel.with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found.append(".".join(parts))
    return found


CORE = core_modules()


def _source(module: str) -> Path:
    spec = importlib.util.find_spec(module)
    assert spec is not None and spec.origin is not None, f"{module} cannot be found"
    return Path(spec.origin)


def _imports(module: str, path: Path) -> set[str]:
    """Every module name the file imports, relative imports resolved."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def test_the_core_is_found_in_the_layout() -> None:
    assert "planner.plan" in CORE
    assert "planner.inventory" in CORE
    assert not [m for m in CORE if m.split(".")[1:2] in ([p] for p in EDGE_PACKAGES)]


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_adapter(module: str) -> None:
    importlib.import_module(module)  # a module that cannot be imported fails, never skips
    path = _source(module)
    bad = sorted(
        name
        for name in _imports(module, path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )
    assert not bad, f"{module} ({path.name}) imports {bad}"


@pytest.mark.parametrize("module", CORE)
def test_core_never_opens_files(module: str) -> None:
    text = _source(module).read_text()
    assert "open(" not in text.replace("reopen(", ""), module
    assert ".read_bytes()" not in text, module
    assert ".write_text(" not in text, module
