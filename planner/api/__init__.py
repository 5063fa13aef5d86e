"""The library: what each command does, without printing.

Each function takes plain values (paths, revisions, options), wires the adapters (git, files,
the renderer) to the pure core, and returns models. The typer commands in `planner.cli` are
thin shells over these functions; other tools can call them directly:

    from planner import api
    plan = api.plan(api.Sources(repo=Path("fleet"), base="origin/main", head="HEAD"))

One module per concern: `inputs` (opening a repository, the change, the inventory and the
policy), `planning` (plan, explain, graph, preview, validate, precise mode), `emitting`
(emit) and `rollouts` (the release manager). Each is imported on first use, so `plan`
starts without the others and `rollout status` without the planner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.api.emitting import EmitResult, EmitTarget, emit
    from planner.api.initializing import InitResult, init
    from planner.api.inputs import (
        DEFAULT_INVENTORY,
        Sources,
        Workspace,
        load_inventories,
        load_policy_file,
        open_workspace,
        repo_urls,
    )
    from planner.api.planning import (
        Revision,
        analysis,
        explain,
        open_revision,
        plan,
        precise_plan,
        preview,
        validate,
    )
    from planner.api.rollouts import (
        rollout_advance,
        rollout_list,
        rollout_pause,
        rollout_resume,
        rollout_rollback,
        rollout_start,
        rollout_status,
    )
    from planner.api.rolloutwrite import rollout_manifests
    from planner.release.view import RolloutView

_ROLLOUTS = (
    "rollout_advance",
    "rollout_list",
    "rollout_pause",
    "rollout_resume",
    "rollout_rollback",
    "rollout_start",
    "rollout_status",
)
_INPUTS = (
    "DEFAULT_INVENTORY",
    "Sources",
    "Workspace",
    "load_inventories",
    "load_policy_file",
    "open_workspace",
    "repo_urls",
)
_PLANNING = (
    "Revision",
    "analysis",
    "explain",
    "open_revision",
    "plan",
    "precise_plan",
    "preview",
    "validate",
)
_LAZY = {
    **dict.fromkeys(_INPUTS, "planner.api.inputs"),
    **dict.fromkeys(_PLANNING, "planner.api.planning"),
    "InitResult": "planner.api.initializing",
    "init": "planner.api.initializing",
    "EmitResult": "planner.api.emitting",
    "EmitTarget": "planner.api.emitting",
    "emit": "planner.api.emitting",
    "RolloutView": "planner.release.view",
    **dict.fromkeys(_ROLLOUTS, "planner.api.rollouts"),
    "rollout_manifests": "planner.api.rolloutwrite",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'planner.api' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DEFAULT_INVENTORY",
    "EmitResult",
    "EmitTarget",
    "InitResult",
    "Revision",
    "RolloutView",
    "Sources",
    "Workspace",
    "analysis",
    "emit",
    "explain",
    "init",
    "load_inventories",
    "load_policy_file",
    "open_revision",
    "open_workspace",
    "plan",
    "precise_plan",
    "preview",
    "repo_urls",
    "rollout_advance",
    "rollout_list",
    "rollout_manifests",
    "rollout_pause",
    "rollout_resume",
    "rollout_rollback",
    "rollout_start",
    "rollout_status",
    "validate",
]
