"""The core decides everything and touches nothing: it imports no adapter and no I/O library."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "planner"
CORE = [
    "inventory",
    "hierarchy/__init__",
    "hierarchy/scopes",
    "hierarchy/graph",
    "hierarchy/parsing",
    "hierarchy/nodes",
    "hierarchy/follow",
    "hierarchy/build",
    "hierarchy/reuse",
    "changes",
    "globs",
    "impact",
    "policy",
    "waves",
    "guardrails",
    "plan",
    "selector",
    "snapshot",
    "kustomize",
    "gitops",
    "sources",
    "artifacts",
    "wiring",
    "appset",
    "appsetgen",
    "apptemplate",
    "fleetbundle",
    "clusterwiring",
    "helmapps",
    "yamlsafe/__init__",
    "yamlsafe/loading",
    "yamlsafe/quoting",
    "yamlsafe/dumpers",
    "yamlsafe/blocks",
    "errors",
    "schemas",
    "emit/__init__",
    "emit/argocd",
    "emit/flux",
    "report/markdown/__init__",
    "report/markdown/escaping",
    "report/markdown/budget",
    "report/markdown/steps",
    "report/table",
    "report/findings",
    "report/text",
    "report/graph",
    "release/__init__",
    "release/model",
    "release/times",
    "release/transitions",
    "release/drift",
    "release/messages",
    "release/view",
    "precise/__init__",
    "precise/units",
    "precise/states",
    "discover/__init__",
    "discover/models",
    "discover/scanning",
    "discover/clusters",
    "draft",
    "report/fit",
    "report/warnings",
    "saferegex",
    "rolloutaudit",
    "render_diff",
    "diff_groups",
    "layer_pruning",
    "report/diff_comment",
    "report/html",
    "gates",
    "approvals",
    "notify",
    "applied",
    "nesting",
    "pinning",
    "fleetview",
    "emitrecord",
    "appsetpins",
    "artifacts",
]
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


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("module", CORE)
def test_core_module_imports_no_adapter(module: str) -> None:
    path = PACKAGE / f"{module}.py"
    if not path.exists():
        pytest.skip(f"planner/{module}.py does not exist yet")
    bad = sorted(
        name
        for name in _imports(path)
        if any(name == f or name.startswith(f + ".") for f in FORBIDDEN)
    )
    assert not bad, f"planner/{module}.py imports {bad}"


def test_core_never_opens_files() -> None:
    for module in CORE:
        path = PACKAGE / f"{module}.py"
        if path.exists():
            text = path.read_text()
            assert "open(" not in text.replace("reopen(", ""), module
            assert ".read_bytes()" not in text and ".write_text(" not in text, module
