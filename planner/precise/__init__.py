"""Precise mode: keep only the traced clusters whose rendered desired state changed.

Tracing (`planner.impact`) is sound but can over-state: a renamed file, a comment or a
reordered list changes files a cluster reads without changing what it deploys. Precise mode
renders every traced cluster at base and at head and compares the rendered objects.

This package owns the decisions, and is pure:

- the *render units* a cluster is made of (`units`): its path, plus every folder a Flux
  `Kustomization` or Argo CD `Application` in it pulls in (the hierarchy's follow edges),
  with the files each unit reads and a content address made of their git blob ids, so
  identical units render once and renders can be cached across runs;
- the kustomization kustomize-controller generates for a folder without one;
- the canonical form of a rendered state (`states`: documents parsed, canonical JSON,
  sorted) and the objects added, removed and changed between base and head;
- the decision (here): changed -> stays affected; unchanged -> `traced_unchanged` (and
  unaffected); a render failure at either side -> stays affected with a warning (fail safe);
  an inventory reason (added, retargeted) keeps the cluster without rendering.

Running kustomize is the renderer adapter's job (`planner.adapters.renderer`), reached through
the `Renderer` protocol; Helm charts are never rendered (their files are hashed instead).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field

from planner.analysis import Analysis
from planner.findings import Finding
from planner.hierarchy.graph import YAML_SUFFIXES
from planner.impact import Reason
from planner.plan import PlanInputs, RenderSummary
from planner.precise.states import (
    MAX_LISTED,
    State,
    canonical,
    cluster_state,
    compare,
    identity,
    unit_objects,
)
from planner.precise.units import (
    FLUX_DEFAULT_IGNORE,
    KEY_VERSION,
    Renderer,
    RenderJob,
    RenderOutput,
    SourceIgnore,
    Unit,
    UnitBuilder,
    UnitKind,
    source_ignore,
    unit_key,
)
from planner.render_diff import ClusterDiff, DiffMemo, ObjectId, cluster_diff, object_name

__all__ = [
    "FLUX_DEFAULT_IGNORE",
    "KEY_VERSION",
    "MAX_LISTED",
    "YAML_SUFFIXES",
    "ObjectId",
    "PreciseResult",
    "RenderJob",
    "RenderOutput",
    "Renderer",
    "SourceIgnore",
    "State",
    "Unit",
    "UnitBuilder",
    "UnitKind",
    "candidates",
    "canonical",
    "cluster_state",
    "compare",
    "identity",
    "object_name",
    "pruned",
    "refine",
    "source_ignore",
    "unit_key",
    "unit_objects",
]

# ------------------------------------------------------------------------ decision


@dataclass
class PreciseResult:
    """What precise mode changes in a plan."""

    affected: dict[str, tuple[Reason, ...]]
    traced_unchanged: list[str]
    renders: dict[str, RenderSummary]
    findings: list[Finding] = field(default_factory=list)
    rendered_units: int = 0
    diffs: dict[str, ClusterDiff] = field(default_factory=dict)  # rendered, changed clusters


def candidates(analysis: Analysis) -> list[str]:
    """Traced clusters whose fate the render decides (an inventory reason always keeps one)."""
    return sorted(
        name
        for name, reasons in analysis.impact.affected.items()
        if not any(r.kind == "inventory" for r in reasons)
    )


def refine(
    inputs: PlanInputs,
    analysis: Analysis,
    renderer: Renderer,
    *,
    spared: Collection[str] = (),
) -> PreciseResult:
    """Render the candidates at base and head and keep those whose state changed.

    `spared`: candidates already known to render the same (layer pruning); not rendered.
    Each cluster that changed gets its unified diff (`diffs`).
    """
    names = candidates(analysis)
    head_units = UnitBuilder(analysis.head, inputs.head)
    base_units = UnitBuilder(analysis.base, inputs.base)
    base_paths = {c.name: c.gitops_path for c in inputs.base_inventory.clusters}
    head_paths = {c.name: c.gitops_path for c in inputs.inventory.clusters}
    plans: dict[str, tuple[list[Unit] | None, list[Unit] | None]] = {}
    jobs: dict[str, RenderJob] = {}
    for name in names:
        if name in spared:
            continue
        base = base_units.cluster(base_paths[name], name) if name in base_paths else None
        head = head_units.cluster(head_paths[name], name)
        plans[name] = (base, head)
        for units, snap in ((base, inputs.base), (head, inputs.head)):
            for unit in units or ():
                if unit.needs_renderer and unit.key not in jobs:
                    jobs[unit.key] = RenderJob(unit, snap)
    outputs = renderer.render(list(jobs.values())) if jobs else {}
    result = PreciseResult(
        affected=dict(analysis.impact.affected),
        traced_unchanged=[],
        renders={},
        rendered_units=len(jobs),
    )
    memo = DiffMemo()
    for name in names:
        if name in spared:
            del result.affected[name]
            result.traced_unchanged.append(name)
            continue
        base, head = plans[name]
        before = cluster_state(base, outputs, inputs.base)
        after = cluster_state(head, outputs, inputs.head)
        summary = compare(before, after)
        if summary is None:
            del result.affected[name]
            result.traced_unchanged.append(name)
            continue
        result.renders[name] = summary
        if summary.failed is not None:
            result.findings.append(_failure(name, summary.failed))
        else:
            result.diffs[name] = cluster_diff(before.objects, after.objects, memo)
    return result


def _failure(name: str, why: str) -> Finding:
    return Finding(
        code="render-failed",
        severity="warning",
        message=f"{name} could not be rendered ({why}); it stays affected",
        cluster=name,
        fix="render it locally with `kubectl kustomize`; remote resources, Helm charts and "
        "exec plugins are never rendered in precise mode",
    )


def pruned(analysis: Analysis, result: PreciseResult, order: Sequence[str]) -> Analysis:
    """The analysis with the traced-but-unchanged clusters moved to `unaffected`."""
    impact = analysis.impact.model_copy(
        update={
            "affected": {n: result.affected[n] for n in order if n in result.affected},
            "unaffected": tuple(n for n in order if n not in result.affected),
        }
    )
    return Analysis(analysis.head, analysis.base, impact, analysis.placements)
