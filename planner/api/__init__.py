"""The library: what each command does, without printing.

Each entry point takes one frozen request model and returns a model; it wires the adapters
(git, files, the renderer) to the pure core. The typer commands in `planner.cli` are thin
shells over these functions; other tools can call them directly:

    from planner import api
    plan = api.plan(api.PlanRequest(repo=Path("fleet"), base="origin/main", head="HEAD"))
    view = api.rollout_status(api.RolloutStatusRequest(repo=Path("fleet"), name="bump"))

One module per concern: `inputs` (opening a repository, the change, the inventory and the
policy), `planning` (plan, demo, explain, graph, preview, validate), `emitting` (emit),
`initializing` (init, policy init), `rollouts` (the release manager: start, status, list,
advance, rollback, pause, resume), `gating` (what an advance did: `AdvanceResult`) and
`watching` (rollout watch). Each module names what it exports in its `__all__`, the one
list of those names; this package reads those lists without importing the modules, and
imports a module on first use of one of its names, so `plan` starts without the release
manager and `rollout status` without the planner.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers (each module's `__all__`)
    from planner.api.emitting import *  # noqa: F403
    from planner.api.gating import *  # noqa: F403
    from planner.api.initializing import *  # noqa: F403
    from planner.api.inputs import *  # noqa: F403
    from planner.api.planning import *  # noqa: F403
    from planner.api.rollouts import *  # noqa: F403
    from planner.api.watching import *  # noqa: F403

_MODULES = ("inputs", "planning", "emitting", "initializing", "rollouts", "gating", "watching")
_module_of: dict[str, str] = {}


def _exports(module: str) -> list[str]:
    """A module's `__all__`, read from its source (imported only when there is none)."""
    try:
        text = Path(__file__).with_name(f"{module}.py").read_text(encoding="utf-8")
    except OSError:
        names: list[str] = importlib.import_module(f"{__name__}.{module}").__all__
        return names
    start = text.index("\n__all__ = [") + len("\n__all__ = ")
    listed = ast.literal_eval(text[start : text.index("]", start) + 1])
    return [str(name) for name in listed]


def _table() -> dict[str, str]:
    if not _module_of:
        for module in _MODULES:
            for name in _exports(module):
                _module_of.setdefault(name, module)
    return _module_of


def __getattr__(name: str) -> Any:
    module = _table().get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__() -> list[str]:
    return sorted(_table())
