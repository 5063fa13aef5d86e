"""`emit`: the plan pinned by `--released K|all`, written as Argo CD or Flux manifests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from planner.adapters import files
from planner.adapters.files import TreeDiff
from planner.api.inputs import Sources
from planner.api.planning import analysis
from planner.emit import Rollout, parse_released, prepare, unplaced
from planner.emit import argocd as argocd_emit
from planner.emit import flux as flux_emit
from planner.emit.argocd import Strategy as ArgoStrategy
from planner.errors import UserError
from planner.nesting import Leak, PinContext, leaks, pin_rollout_nesting
from planner.plan import Plan, assemble
from planner.repourl import resolve_repo_url

if TYPE_CHECKING:
    from planner.plan import PlanInputs

# -------------------------------------------------------------------------------- emit


class EmitTarget(StrEnum):
    """What `emit` writes."""

    argocd = "argocd"
    flux = "flux"


@dataclass(frozen=True)
class EmitResult:
    """What `emit` rendered, and how `--out` differed from it (written, or only checked).

    `refused` when the plan has violations or a cluster matches no wave: nothing was
    rendered, checked or written.
    """

    plan: Plan
    target: EmitTarget
    out: Path
    checked: bool
    unplaced: tuple[str, ...] = ()
    rollout: Rollout | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    diff: TreeDiff | None = None
    leaks: tuple[Leak, ...] = ()  # nested objects that cannot be pinned
    allow_unpinned: bool = False

    @property
    def refused(self) -> bool:
        return bool(
            self.plan.violations or self.unplaced or (self.leaks and not self.allow_unpinned)
        )

    @property
    def drift(self) -> bool:
        return self.checked and self.diff is not None and not self.diff.clean


def emit(
    sources: Sources,
    target: EmitTarget | str,
    out: Path,
    *,
    released: int | str = 0,
    strategy: ArgoStrategy | str = "list",
    check: bool = False,
    allow_unpinned: bool = False,
) -> EmitResult:
    """Render the plan pinned by `--released K|all` as manifests; write them to `out`
    atomically (or, with `check`, only compare). Never touches files it did not generate."""
    target = EmitTarget(target)
    strategy = ArgoStrategy(strategy)
    if isinstance(released, str):
        released = parse_released(released)
    if out.exists() and not out.is_dir():
        raise UserError.single(f"{out} is a file, not a folder", key="--out", fix="pass a folder")
    workspace, result = analysis(sources)
    try:
        planned = assemble(workspace.inputs, result)
        missing = unplaced(planned)
        if planned.violations or missing:
            return EmitResult(planned, target, out, check, unplaced=missing)
        policy = workspace.inputs.policy
        if target is EmitTarget.argocd:
            url = resolve_repo_url(
                policy.argocd.repoURL, workspace.repo_url, setting="argocd.repoURL"
            )
        else:
            url = resolve_repo_url(policy.flux.url, workspace.repo_url, setting="flux.url")
        rollout = prepare(planned, workspace.inputs.inventory, policy.labels, released, url)
        rollout = with_nested_pins(rollout, workspace.inputs, target.value)
        found = tuple(leaks(rollout.pins, rollout.head))
        if found and not allow_unpinned:
            return EmitResult(
                planned, target, out, check, (), rollout, leaks=found, allow_unpinned=False
            )
        if target is EmitTarget.argocd:
            rendered = argocd_emit.render(rollout, policy.argocd, strategy)
        else:
            rendered = flux_emit.render(rollout, policy.flux)
        diff = files.check_tree(out, rendered) if check else files.write_tree(out, rendered)
        return EmitResult(
            planned, target, out, check, (), rollout, rendered, diff, found, allow_unpinned
        )
    finally:
        workspace.close()


def with_nested_pins(rollout: Rollout, inputs: PlanInputs, target: str) -> Rollout:
    """The rollout with the patches that pin every nested object (planner.nesting)."""
    policy = inputs.policy
    context = PinContext(frozenset(policy.flux_sources), tuple(inputs.repo_urls))
    pins = pin_rollout_nesting(
        rollout.elements(),
        inputs.base,
        inputs.head,
        context,
        target=target,
        flux_namespace=policy.flux.namespace,
    )
    return dataclasses.replace(rollout, pins=pins)
