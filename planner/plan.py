"""The plan: everything a change means for the fleet, as one versioned, serialisable value.

`plan_change` is the pure heart of the planner: hierarchy at base and head + change set +
inventory at both sides + policy -> `Plan`. It builds nothing from the world itself: the
caller hands in snapshots (see `planner.api`). The `Plan` model is the JSON contract
(`schema_version: 1`): every inventory cluster is in exactly one of `affected` and
`unaffected`, every affected cluster is in exactly one step of `waves` (or a violation says
why not), and removed clusters are listed, never dropped.
"""

from __future__ import annotations

import difflib
import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from planner import guardrails
from planner.analysis import Analysis, analyse, unowned_findings, wiring_findings
from planner.changes import Change, ChangeSet
from planner.diff_groups import DiffGroup, group_diffs, group_of
from planner.errors import UserError
from planner.findings import Finding
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.parsing import ParseCache
from planner.hierarchy.scopes import Scope
from planner.impact import ChangedLayer, Impact, Reason
from planner.inventory import Inventory, LabelRoles
from planner.placement import UNPLACED, Placement, Step, plan_steps
from planner.policy import RolloutPolicy
from planner.snapshot import Snapshot
from planner.trusted import trusted

if TYPE_CHECKING:
    from planner.precise import Renderer

SCHEMA_VERSION = 1


class RenderSummary(BaseModel):
    """Precise mode: how a cluster's rendered desired state changed (objects as
    `Kind/namespace/name`, or `Kind/name` when cluster-scoped)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    omitted: int = Field(default=0, description="Objects left out of the lists (too many).")
    failed: str | None = Field(
        default=None, description="Why rendering failed (the cluster stays affected)."
    )

    def describe(self, limit: int = 3) -> str:
        """One short line: `+1 -0 ~2: Deployment/apps/web, ...` (for tables and comments)."""
        if self.failed is not None:
            return f"render failed: {self.failed}"
        total = len(self.added) + len(self.removed) + len(self.changed) + self.omitted
        if not total:
            return "no object changed"
        names = [f"+{n}" for n in self.added] + [f"-{n}" for n in self.removed]
        names += [f"~{n}" for n in self.changed]
        shown = ", ".join(names[:limit])
        more = total - min(limit, len(names))
        counts = f"+{len(self.added)} -{len(self.removed)} ~{len(self.changed)}"
        if self.omitted:
            counts += f" (+{self.omitted} more)"
        return f"{counts}: {shown}" + (f" (+{more} more)" if more > 0 else "")


class AffectedCluster(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str
    wave: str | None
    step: str | None
    placement: str = Field(description="The rule that placed the cluster in its wave.")
    reasons: tuple[Reason, ...]
    render: RenderSummary | None = Field(
        default=None, description="Precise mode: the rendered objects that changed."
    )
    diff_group: str | None = Field(
        default=None, description="Precise mode: the id of the cluster's group in `diff_groups`."
    )


class StepSummary(BaseModel):
    """A step of the plan as it appears in `waves`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str
    wave: str
    clusters: tuple[str, ...]
    bake: str | None
    approval: str
    group: str | None = None
    notes: tuple[str, ...] = ()
    regions: tuple[str, ...] = Field(
        default=(), description="Region label values of the step's clusters (sorted)."
    )
    compliance: tuple[str, ...] = Field(
        default=(), description="Compliance label values of the step's clusters (sorted)."
    )


class Membership(BaseModel):
    """Every inventory cluster of one wave (static: affected or not)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    wave: str
    clusters: tuple[str, ...]


class Summary(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    clusters_total: int
    clusters_affected: int
    scope: str = Field(description="Widest scope reached: global, environment, region, ...")
    steps: int
    violations: int
    warnings: int


class SourceInfo(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str
    digest: str


class Emergency(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    reason: str


class RangeInfo(BaseModel):
    """Which commits the change was computed between."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mode: Literal["three-dot", "two-dot", "worktree", "changed-files"] = Field(
        description="three-dot: merge-base(base, head)..head, what a pull request shows; "
        "two-dot: base..head as given (--two-dot)."
    )
    base: str = Field(description="The base revision as resolved (before the merge base).")
    merge_base: str | None = None
    head: str | None = None


class Plan(BaseModel):
    """The plan, as printed by `plan --format json`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: int = SCHEMA_VERSION
    id: str
    base: str
    head: str
    emergency: Emergency | None = None
    summary: Summary
    changed_files: tuple[str, ...]
    changes: tuple[Change, ...]
    changed_layers: tuple[ChangedLayer, ...]
    affected: tuple[AffectedCluster, ...]
    unaffected: tuple[str, ...]
    traced_unchanged: tuple[str, ...] = ()
    removed: tuple[str, ...]
    unowned: tuple[str, ...]
    ignored: tuple[str, ...]
    violations: tuple[Finding, ...]
    warnings: tuple[Finding, ...]
    waves: tuple[StepSummary, ...]
    skipped_waves: tuple[str, ...]
    membership: tuple[Membership, ...] = Field(
        description="Every inventory cluster by wave (policy order); unplaced ones under `(none)`."
    )
    policy: SourceInfo
    inventory: SourceInfo
    diff_groups: tuple[DiffGroup, ...] = Field(
        default=(),
        description="Precise mode: affected clusters grouped by rendered change, largest first.",
    )
    range: RangeInfo | None = Field(
        default=None, description="How the change was computed (absent without git)."
    )

    def affected_names(self) -> list[str]:
        return [a.cluster for a in self.affected]

    def step_of(self) -> dict[str, str]:
        return {c: s.name for s in self.waves for c in s.clusters}


@dataclass
class PlanInputs:
    """Everything a plan is computed from (snapshots are read-only views of two revisions)."""

    head: Snapshot
    base: Snapshot
    changes: ChangeSet
    inventory: Inventory
    base_inventory: Inventory
    policy: RolloutPolicy
    policy_source: str = "built-in default"
    repo_urls: Sequence[str] = ()
    inventory_paths: Sequence[str] = ()
    emergency: str | None = None
    cache: ParseCache = field(default_factory=ParseCache)
    notes: Sequence[Finding] = ()  # about the range itself (reversed, inventory added)
    strict: bool = False  # unmodelled wiring is a violation, not a warning
    refs: Sequence[str] = ()  # GitRepository refs that mean the revision planned
    range: RangeInfo | None = None  # how the change was computed (git only)


@dataclass(frozen=True)
class Explanation:
    """One cluster's story: the plan, its root in the head graph and its placement."""

    cluster: str
    plan: Plan
    head: Hierarchy
    root: str | None
    placement: Placement


def plan_change(
    inputs: PlanInputs, renderer: Renderer | None = None, *, prune: bool = True
) -> Plan:
    """graph + changes + inventory + policy -> Plan (pure).

    With a `renderer`, precise mode: every traced cluster is rendered at base and head;
    clusters whose rendered state did not change move to `traced_unchanged`, the others carry
    a `render` summary and the id of their `diff_groups` entry. A changed layer that renders
    the same at both revisions spares the clusters above it (`prune=False` renders them all).
    """
    return _pipeline(inputs, renderer, prune=prune)[1]


def explain_change(inputs: PlanInputs, cluster: str) -> Explanation:
    """Why one cluster is (or is not) affected by the change (the plan and its trace)."""
    traced, planned = _pipeline(inputs, None, prune=False)
    names = inputs.inventory.names()
    if cluster not in names:
        close = difflib.get_close_matches(cluster, names, n=3)
        raise UserError.single(
            f"no cluster named {cluster!r} in the inventory",
            key="CLUSTER",
            fix=f"did you mean {', '.join(close)}?"
            if close
            else "run `wave-planner preview` to list clusters",
        )
    found = inputs.inventory.by_name()[cluster]
    root = traced.head.root_of(found.gitops_path, found.name)
    return Explanation(cluster, planned, traced.head, root, traced.placements[cluster])


def _pipeline(
    inputs: PlanInputs, renderer: Renderer | None, *, prune: bool
) -> tuple[Analysis, Plan]:
    """The one pipeline: trace, (precise mode) render and refine, then assemble."""
    traced = analyse(inputs)
    inputs.cache.clear()  # the parsed YAML of every file: the graphs are built, free it
    if renderer is None:
        return traced, assemble(inputs, traced)
    from planner import layer_pruning, precise

    pruning = layer_pruning.prune(inputs, traced, renderer) if prune else layer_pruning.Pruning()
    result = precise.refine(inputs, traced, renderer, spared=pruning.spared)
    refined = precise.pruned(traced, result, inputs.inventory.names())
    groups = group_diffs(result.diffs, inputs.inventory.by_name(), inputs.policy.labels)
    planned = assemble(
        inputs,
        refined,
        result.traced_unchanged,
        renders=result.renders,
        findings=result.findings,
        diff_groups=groups,
    )
    return refined, planned


def assemble(
    inputs: PlanInputs,
    analysis: Analysis,
    traced_unchanged: Iterable[str] = (),
    *,
    renders: Mapping[str, RenderSummary] | None = None,
    findings: Iterable[Finding] = (),
    diff_groups: Sequence[DiffGroup] = (),
) -> Plan:
    """The plan of an analysis; precise mode passes the render summaries and its warnings."""
    renders = renders or {}
    group_ids = group_of(diff_groups)
    extra = [*inputs.notes, *findings]
    impact = analysis.impact
    affected = sorted(impact.affected)
    steps, skipped = plan_steps(
        affected, analysis.placements, inputs.policy, inputs.inventory, emergency=inputs.emergency
    )
    step_of = {c: s.name for s in steps for c in s.clusters}
    context = guardrails.Context(
        head=analysis.head,
        snapshot=inputs.head,
        inventory=inputs.inventory,
        policy=inputs.policy,
        placements=analysis.placements,
        steps=steps if inputs.emergency is None else (),
        layers=impact.changed_layers,
        reasons_layers={
            name: {r.layer for r in reasons if r.layer} for name, reasons in impact.affected.items()
        },
    )
    findings = guardrails.plan_findings(context, set(affected))
    del context  # its closure cache (a set per cluster root) is not needed past the checks
    findings.extend(unowned_findings(impact, inputs.policy.unowned))
    findings.extend(wiring_findings(analysis.head, inputs.inventory, strict=inputs.strict))
    findings.extend(extra)
    violations = tuple(f for f in findings if f.severity == "violation")
    warnings = tuple(f for f in findings if f.severity == "warning")
    policy_info = SourceInfo(source=inputs.policy_source, digest=inputs.policy.digest())
    inventory_info = SourceInfo(source=inputs.inventory.source, digest=inputs.inventory.digest())
    base_sha, head_sha = inputs.base.revision, inputs.head.revision
    return Plan(
        id=plan_id(base_sha, head_sha, policy_info.digest, inventory_info.digest, inputs.emergency),
        base=base_sha,
        head=head_sha,
        emergency=Emergency(reason=inputs.emergency) if inputs.emergency is not None else None,
        summary=Summary(
            clusters_total=len(inputs.inventory.clusters),
            clusters_affected=len(affected),
            scope=_scope(impact, len(inputs.inventory.clusters)),
            steps=len(steps),
            violations=len(violations),
            warnings=len(warnings),
        ),
        changed_files=tuple(inputs.changes.files()),
        changes=inputs.changes.changes,
        changed_layers=impact.changed_layers,
        affected=tuple(
            trusted(
                AffectedCluster,
                cluster=name,
                wave=analysis.placements[name].wave if inputs.emergency is None else "emergency",
                step=step_of.get(name),
                placement=analysis.placements[name].rule
                if inputs.emergency is None
                else f"emergency: {inputs.emergency}",
                reasons=impact.affected[name],
                render=renders.get(name),
                diff_group=group_ids.get(name),
            )
            for name in affected
        ),
        unaffected=impact.unaffected,
        traced_unchanged=tuple(sorted(traced_unchanged)),
        removed=impact.removed,
        unowned=impact.unowned,
        ignored=impact.ignored,
        violations=violations,
        warnings=warnings,
        waves=tuple(_step_summary(s, inputs.inventory, inputs.policy.labels) for s in steps),
        skipped_waves=tuple(skipped),
        membership=_membership(inputs.policy, analysis.placements),
        policy=policy_info,
        inventory=inventory_info,
        diff_groups=tuple(g for g in diff_groups if any(c in impact.affected for c in g.clusters)),
        range=inputs.range,
    )


def _step_summary(step: Step, inventory: Inventory, roles: LabelRoles) -> StepSummary:
    """A step with the regions and compliance classes its clusters cover (from their labels)."""
    clusters = inventory.by_name()
    found = [clusters[name] for name in step.clusters if name in clusters]

    def covered(role: str) -> tuple[str, ...]:
        values = (roles.value(c.labels, role) for c in found)
        return tuple(sorted({v for v in values if v is not None}))

    return StepSummary(
        **step.model_dump(), regions=covered("region"), compliance=covered("compliance")
    )


def _membership(policy: RolloutPolicy, placements: dict[str, Placement]) -> tuple[Membership, ...]:
    by_wave: dict[str, list[str]] = {}
    for name, placement in placements.items():
        by_wave.setdefault(placement.wave or UNPLACED, []).append(name)
    order = [w.name for w in policy.waves] + [UNPLACED]
    return tuple(
        Membership(wave=wave, clusters=tuple(sorted(by_wave[wave])))
        for wave in order
        if wave in by_wave
    )


def plan_id(base: str, head: str, policy: str, inventory: str, emergency: str | None) -> str:
    text = "\n".join((base, head, policy, inventory, emergency or ""))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


_BREADTH = [Scope.GLOBAL, Scope.ENVIRONMENT, Scope.REGION, Scope.SHARED, Scope.CLUSTER]


def _scope(impact: Impact, total: int) -> str:
    """The widest scope of a changed layer that reaches a cluster (`global` only when a
    global layer changed, not whenever every cluster is affected)."""
    if not impact.affected:
        return "none"
    reached = {layer.scope for layer in impact.changed_layers if layer.clusters}
    for scope in _BREADTH:
        if scope in reached:
            return scope.value
    if any(r.kind == "unmodelled" for rs in impact.affected.values() for r in rs):
        return "unmodelled"
    if impact.affected:
        return "inventory"
    return "none"
