"""The library: what each command does, without printing.

Each entry point takes one frozen request model and returns a model; it wires the adapters
(git, files, the renderer) to the pure core. The typer commands in `planner.cli` are thin
shells over these functions; other tools can call them directly:

    from planner import api
    plan = api.plan(api.PlanRequest(repo=Path("fleet"), base="origin/main", head="HEAD"))

One module per concern: `inputs` (opening a repository, the change, the inventory and the
policy), `planning` (plan, demo, explain, graph, preview, validate), `emitting` (emit),
`initializing` (init, policy init) and `rollouts` (the release manager). Each is imported on
first use, so `plan` starts without the others and `rollout status` without the planner.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names below, for type checkers (each module's `__all__`)
    from planner.api.emitting import *  # noqa: F403
    from planner.api.initializing import *  # noqa: F403
    from planner.api.inputs import *  # noqa: F403
    from planner.api.planning import *  # noqa: F403
    from planner.api.rollouts import *  # noqa: F403
    from planner.api.rolloutwrite import rollout_manifests as rollout_manifests
    from planner.release.view import RolloutView as RolloutView

_EXPORTS = {
    "planner.api.inputs": ("Sources",),
    "planner.api.planning": (
        "DemoRequest",
        "ExplainRequest",
        "PlanRequest",
        "Preview",
        "PreviewRequest",
        "Revision",
        "RevisionRequest",
        "ValidateRequest",
        "demo",
        "explain",
        "graph",
        "plan",
        "preview",
        "validate",
    ),
    "planner.api.emitting": ("EmitRequest", "EmitResult", "emit"),
    "planner.api.initializing": (
        "InitRequest",
        "InitResult",
        "PolicyDraft",
        "PolicyInitRequest",
        "init",
        "policy_init",
    ),
    "planner.api.rollouts": (
        "rollout_advance",
        "rollout_list",
        "rollout_pause",
        "rollout_resume",
        "rollout_rollback",
        "rollout_start",
        "rollout_status",
    ),
    "planner.api.rolloutwrite": ("rollout_manifests",),
    "planner.release.view": ("RolloutView",),
}
_MODULE_OF = {name: module for module, names in _EXPORTS.items() for name in names}


def __getattr__(name: str) -> Any:
    module = _MODULE_OF.get(name)
    if module is None:
        raise AttributeError(f"module 'planner.api' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


def __dir__() -> list[str]:
    return sorted(_MODULE_OF)
