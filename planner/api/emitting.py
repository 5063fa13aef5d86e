"""`emit`: the plan pinned by `--released K|all`, written as Argo CD or Flux manifests."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planner.adapters import files
from planner.adapters.files import TreeDiff
from planner.api.inputs import Sources, open_workspace
from planner.emit import argocd as argocd_emit
from planner.emit import flux as flux_emit
from planner.emit.argocd import Strategy as ArgoStrategy
from planner.emit.pinned import PinnedPlan, parse_released, prepare, unplaced
from planner.emitrecord import INPUTS_FILE, Record, generated, parse, stale_reasons
from planner.errors import UserError
from planner.pins.applied import HeldParseCache
from planner.pins.nesting import PinContext
from planner.pins.pinning import Leak, leaks, pin_rollout_nesting, plain_folders
from planner.plan import Plan, plan_change
from planner.target import Target
from planner.wiring.repourl import resolve_repo_url

__all__ = ["EmitRequest", "EmitResult", "emit"]

if TYPE_CHECKING:
    from planner.plan import PlanInputs

# -------------------------------------------------------------------------------- emit


@dataclass(frozen=True)
class EmitResult:
    """What `emit` rendered, and how `--out` differed from it (written, or only checked).

    `refused` when the plan has violations or a cluster matches no wave: nothing was
    rendered, checked or written.
    """

    plan: Plan
    target: Target
    out: Path
    checked: bool
    unplaced: tuple[str, ...] = ()
    pinned: PinnedPlan | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    diff: TreeDiff | None = None
    leaks: tuple[Leak, ...] = ()  # nested objects that cannot be pinned
    allow_unpinned: bool = False

    @property
    def refused(self) -> bool:
        return bool(
            self.plan.violations or self.unplaced or (self.leaks and not self.allow_unpinned)
        )

    plain_folders: tuple[str, ...] = ()  # Argo CD: patched paths without a kustomization
    stale: tuple[str, ...] = ()  # why the recorded inputs no longer hold (`--check`)
    recorded: Record | None = None  # the inputs `--check` regenerated from

    @property
    def drift(self) -> bool:
        return self.checked and (
            bool(self.stale) or (self.diff is not None and not self.diff.clean)
        )


class EmitRequest(Sources):
    """`emit`: the change's sources, what to write and where; `released` steps (`K|all`,
    default 0; with `check`, the recorded value unless given), the Argo CD `strategy`."""

    target: Target
    out: Path
    released: int | str | None = None
    strategy: ArgoStrategy | None = None
    check: bool = False
    adopt: bool = False
    allow_unpinned: bool = False


def emit(request: EmitRequest) -> EmitResult:
    """Render the plan pinned by `--released K|all` (default 0) as manifests; write them to
    `out` atomically, with the record of their inputs (planner.emitrecord). With `check`,
    only compare: against what the recorded inputs generate when `out` holds a record
    (stale only when an input changed), else against the plan of the sources. Never touches
    files it did not generate."""
    released = request.released
    if isinstance(released, str):
        released = parse_released(released)
    out = request.out
    if out.exists() and not out.is_dir():
        raise UserError.single(f"{out} is a file, not a folder", key="--out", fix="pass a folder")
    files.check_out_folder(out)
    if request.check:
        record = _read_record(out)
        if record is not None and record.target == request.target.value:
            return _check_recorded(request.model_copy(update={"released": released}), record)
    return _emit(
        request.model_copy(
            update={
                "released": 0 if released is None else released,
                "strategy": request.strategy or ArgoStrategy.list,
            }
        )
    )


def _emit(request: EmitRequest) -> EmitResult:
    """`emit` with `released` and `strategy` decided."""
    target, out, check = request.target, request.out, request.check
    released = 0 if request.released is None else request.released
    strategy = request.strategy or ArgoStrategy.list
    workspace = open_workspace(request)
    parses = HeldParseCache()  # the nested-pin tracer reads the plan's parsed kustomizations
    inputs = dataclasses.replace(workspace.inputs, cache=parses)
    try:
        planned = plan_change(inputs)
        missing = unplaced(planned)
        if planned.violations or missing:
            return EmitResult(planned, target, out, check, unplaced=missing)
        policy = inputs.policy
        if target is Target.argocd:
            url = resolve_repo_url(
                policy.argocd.repoURL, workspace.repo_url, setting="argocd.repoURL"
            )
        else:
            url = resolve_repo_url(policy.flux.url, workspace.repo_url, setting="flux.url")
        pinned = prepare(planned, inputs.inventory, policy.labels, released, url)
        pinned = with_nested_pins(pinned, inputs, target.value)
        parses.release()
        found = tuple(leaks(pinned.pins, pinned.head))
        if found and not request.allow_unpinned:
            return EmitResult(
                planned, target, out, check, (), pinned, leaks=found, allow_unpinned=False
            )
        if target is Target.argocd:
            rendered = argocd_emit.render(pinned, policy.argocd, strategy)
        else:
            rendered = flux_emit.render(pinned, policy.flux)
        rendered[INPUTS_FILE] = Record(
            target=target.value,
            strategy=strategy.value,
            released=released,
            base=planned.base,
            head=planned.head,
            inventory_digest=planned.inventory.digest,
            policy_digest=planned.policy.digest,
            emergency=request.emergency,
        ).dump()
        if check:
            diff = files.check_tree(out, rendered)
        elif out.resolve().parent.name == "waves":
            # A folder of a fleet repository's waves/: one writer at a time, as rollouts.
            from planner.adapters import lock

            with lock.hold(out.resolve().parent, f"emit --out {out}"):
                diff = files.write_tree(out, rendered, adopt=request.adopt)
        else:
            diff = files.write_tree(out, rendered, adopt=request.adopt)
        return EmitResult(
            planned,
            target,
            out,
            check,
            (),
            pinned,
            rendered,
            diff,
            found,
            request.allow_unpinned,
            tuple(plain_folders(pinned.pins)) if target is Target.argocd else (),
        )
    finally:
        parses.release()
        workspace.close()


def with_nested_pins(pinned: PinnedPlan, inputs: PlanInputs, target: str) -> PinnedPlan:
    """The pinned plan with the patches that pin every nested object (planner.pins.nesting)."""
    policy = inputs.policy
    context = PinContext(frozenset(policy.flux_sources), tuple(inputs.repo_urls))
    pins = pin_rollout_nesting(
        pinned.elements(),
        inputs.base,
        inputs.head,
        context,
        target=target,
        flux_namespace=policy.flux.namespace,
        parses=inputs.cache,
    )
    return dataclasses.replace(pinned, pins=pins)


def _read_record(out: Path) -> Record | None:
    path = out / INPUTS_FILE
    try:
        return parse(path.read_bytes()) if path.is_file() else None
    except OSError:
        return None


def _check_recorded(request: EmitRequest, record: Record) -> EmitResult:
    """`--check` against the recorded inputs: stale when one changed, else regenerate from
    them and compare. Without `--base`, the recorded base is the base."""
    target, out = request.target, request.out
    if request.base is None:
        request = request.model_copy(update={"base": record.base})
    workspace = open_workspace(request)
    try:
        now = plan_change(workspace.inputs)
        changed: list[str] = []
        if workspace.repo is not None and now.head != record.head:
            try:
                paths = workspace.repo.diff(record.head, now.head).files()
            except Exception:  # the recorded head is not in this repository any more
                paths = ["(the recorded head is not in the repository)"]
            snap = workspace.inputs.head
            generated_dirs = sorted(
                {p.rsplit("/", 1)[0] for p in snap.files() if p.endswith("/" + files.MANIFEST)}
            )
            changed = [p for p in paths if not generated(p, generated_dirs)]
    finally:
        workspace.close()
    reasons = stale_reasons(
        record,
        base=now.base,
        inventory_digest=now.inventory.digest,
        policy_digest=now.policy.digest,
        changed_since_head=changed,
    )
    if reasons:
        return EmitResult(now, target, out, True, stale=tuple(reasons), recorded=record)
    again = request.model_copy(
        update={
            "base": record.base,
            "head": record.head,
            "emergency": record.emergency,
            "released": record.released if request.released is None else request.released,
            "strategy": request.strategy or ArgoStrategy(record.strategy),
            "check": True,
            "adopt": False,
        }
    )
    return dataclasses.replace(_emit(again), recorded=record)
