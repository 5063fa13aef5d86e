"""Terminal tables (tabulate): the plan, a selector preview.

A terminal reader wants the summary line, then the steps in order, then the problems; the
per-cluster chains live in `explain` and the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from planner.report.findings import findings_table

if TYPE_CHECKING:
    from planner.api import PreviewRow
    from planner.plan import Plan
    from planner.selector import LabelSelector

MAX_LISTED = 8


def listing(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def summary_line(plan: Plan) -> str:
    s = plan.summary
    percent = 100 * s.clusters_affected / s.clusters_total if s.clusters_total else 0
    line = (
        f"{s.clusters_affected} of {s.clusters_total} clusters affected ({percent:.0f}%), "
        f"scope {s.scope}, {s.steps} step(s)"
    )
    if plan.emergency:
        line += f", EMERGENCY: {plan.emergency.reason}"
    return line


def render_plan(plan: Plan) -> str:
    out = [
        f"wave-planner plan {plan.id}  {plan.base[:12]}..{plan.head[:12]}",
        summary_line(plan),
        "",
    ]
    if plan.changed_layers:
        rows = [
            [l.path, l.scope.value, l.clusters, listing(list(l.files), 3)]
            for l in plan.changed_layers
        ]
        out += [tabulate(rows, headers=["changed layer", "scope", "clusters", "files"]), ""]
    if plan.waves:
        rows = [
            [i, s.name, len(s.clusters), listing(list(s.clusters)), _gates(s.bake, s.approval)]
            for i, s in enumerate(plan.waves, start=1)
        ]
        out += [tabulate(rows, headers=["#", "step", "n", "clusters", "gates"]), ""]
    out += _rendered(plan)
    if plan.skipped_waves:
        out += [f"skipped waves (no affected cluster): {', '.join(plan.skipped_waves)}", ""]
    if plan.removed:
        out += [f"removed from the inventory: {', '.join(plan.removed)}", ""]
    if plan.traced_unchanged:
        out += [f"traced but render unchanged: {listing(list(plan.traced_unchanged))}", ""]
    if plan.unowned:
        out += [f"changed files no cluster reaches: {listing(list(plan.unowned))}", ""]
    if plan.ignored:
        out += [f"ignored changed files: {listing(list(plan.ignored))}", ""]
    findings = [*plan.violations, *plan.warnings]
    if findings:
        out += [findings_table(findings), ""]
    if not plan.affected:
        out += ["no cluster is affected by this change", ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _rendered(plan: Plan, limit: int = 20) -> list[str]:
    """Precise mode: what changed in each affected cluster's rendered state."""
    rows = [[a.cluster, a.render.describe()] for a in plan.affected if a.render is not None]
    if not rows:
        return []
    shown = rows[:limit]
    if len(rows) > limit:
        shown.append([f"(+{len(rows) - limit} more)", ""])
    return [tabulate(shown, headers=["cluster", "rendered change (+added -removed ~changed)"]), ""]


def _gates(bake: str | None, approval: str) -> str:
    gates = []
    if bake:
        gates.append(f"bake {bake}")
    if approval == "required":
        gates.append("approval")
    return ", ".join(gates) or "-"


def render_preview(selector: LabelSelector | None, rows: list[PreviewRow], *, as_json: bool) -> str:
    if as_json:
        data = {
            "selector": selector.describe() if selector else None,
            "clusters": [
                {"cluster": r.cluster, "labels": dict(r.labels), "wave": r.wave, "rule": r.rule}
                for r in rows
            ],
        }
        return json.dumps(data, indent=2) + "\n"
    header = f"selector {selector.describe()}: " if selector else ""
    table = tabulate(
        [
            [r.cluster, r.wave or "-", ", ".join(f"{k}={v}" for k, v in sorted(r.labels.items()))]
            for r in rows
        ],
        headers=["cluster", "wave", "labels"],
    )
    return f"{header}{len(rows)} cluster(s)\n{table}\n" if rows else f"{header}no cluster matches\n"
