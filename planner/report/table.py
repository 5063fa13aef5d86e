"""Terminal tables (tabulate): the plan, a selector preview.

A terminal reader wants the summary line, the changed layers, the steps in order with their
share of the fleet, the regions and compliance classes they cover and their gates, then the
problems (last, next to the prompt); the per-cluster chains live in `explain` and the JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from planner.report.findings import findings_table
from planner.report.fit import bold, prose, table
from planner.report.warnings import warnings_table

if TYPE_CHECKING:
    from planner.placement import PreviewRow
    from planner.plan import Plan
    from planner.selector import LabelSelector

MAX_LISTED = 8
RANGE_NOTES = ("reversed-range", "inventory-added")  # said before the plan, not only after


def listing(names: Sequence[str], limit: int = MAX_LISTED) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" (+{len(names) - limit} more)" if len(names) > limit else "")


def percent(part: int, total: int) -> str:
    """A share of the fleet: `28.6%`, `100%`, `<0.1%`."""
    if not total or not part:
        return "0%"
    value = 100 * part / total
    if value < 0.1:
        return "<0.1%"
    return f"{value:.1f}".rstrip("0").rstrip(".") + "%"


def summary_line(plan: Plan) -> str:
    s = plan.summary
    line = (
        f"{s.clusters_affected} of {s.clusters_total} clusters affected "
        f"({percent(s.clusters_affected, s.clusters_total)}), "
        f"scope {s.scope}, {s.steps} step(s)"
    )
    if s.violations or s.warnings:
        line += f", {s.violations} violation(s), {s.warnings} warning(s)"
    if plan.emergency:
        line += f", EMERGENCY: {plan.emergency.reason}"
    return line


def render_plan(
    plan: Plan, *, width: int | None = None, colour: bool = False, wide: bool = False
) -> str:
    """The plan for a terminal: no wider than `width`, severities coloured when `colour`;
    `wide` lists every name and every warning instead of grouping them."""
    limit = 1_000_000 if wide else MAX_LISTED
    out = [
        bold(f"wave-planner plan {plan.id}  {plan.base[:12]}..{plan.head[:12]}", colour),
        summary_line(plan),
        "",
    ]
    out += _range_notes(plan)
    if plan.changed_layers:
        rows = [
            [
                layer.path,
                layer.scope.value,
                layer.clusters,
                listing(list(layer.files), limit if wide else 3),
            ]
            for layer in plan.changed_layers
        ]
        headers = ["changed layer", "scope", "clusters", "files"]
        out += [table(rows, headers, width=width), ""]
    retargeted = [a.cluster for a in plan.affected if any(r.kind == "inventory" for r in a.reasons)]
    if retargeted:
        out += [f"inventory entries added or retargeted: {listing(retargeted)}", ""]
    if plan.waves:
        out += [_steps_table(plan, width, limit if wide else 4), ""]
        out += _constraint_notes(plan)
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
    if plan.violations:
        out += [findings_table(plan.violations, width=width, colour=colour), ""]
    if plan.warnings and wide:
        out += [findings_table(plan.warnings, width=width, colour=colour), ""]
    elif plan.warnings:
        out += [warnings_table(plan.warnings, width=width, colour=colour), ""]
    findings = [*plan.violations, *plan.warnings]
    if not plan.affected:
        out += ["no cluster is affected by this change", ""]
    elif findings or len(plan.affected) > MAX_LISTED:
        out += ["why: `wave-planner explain CLUSTER`; everything: `--format json`", ""]
    out = [line if "\n" in line else prose(line, width) for line in out]  # tables are fitted
    return "\n".join(out).rstrip("\n") + "\n"


def _range_notes(plan: Plan) -> list[str]:
    """What the reader must know about the range itself (reversed, inventory added)."""
    notes = [f"note: {w.message}" for w in plan.warnings if w.code in RANGE_NOTES]
    return [*notes, ""] if notes else []


def _steps_table(plan: Plan, width: int | None = None, names: int = 4) -> str:
    total = plan.summary.clusters_total
    rows = []
    done = 0
    for i, s in enumerate(plan.waves, start=1):
        done += len(s.clusters)
        rows.append(
            [
                i,
                s.name,
                len(s.clusters),
                f"{percent(len(s.clusters), total)} ({percent(done, total)})",
                listing(list(s.regions), 4) or "-",
                listing(list(s.compliance), 4) or "-",
                gates_text(s.bake, s.approval),
                listing(list(s.clusters), names),
            ]
        )
    headers = ["#", "step", "n", "fleet (cum.)", "regions", "compliance", "gates", "clusters"]
    return table(
        rows,
        headers,
        width=width,
        colalign=("right", "left", "right", "right", "left", "left", "left", "left"),
    )


def _constraint_notes(plan: Plan) -> list[str]:
    """Blast-radius constraints that split steps, each said once."""
    prefix = "split by constraint: "
    notes = sorted({n for s in plan.waves for n in s.notes if n.startswith(prefix)})
    lines = [f"steps split by a blast-radius constraint: {n.removeprefix(prefix)}" for n in notes]
    return [*lines, ""] if lines else []


def _rendered(plan: Plan, limit: int = 20) -> list[str]:
    """Precise mode: what changed in each affected cluster's rendered state."""
    rows = [[a.cluster, a.render.describe()] for a in plan.affected if a.render is not None]
    if not rows:
        return []
    shown = rows[:limit]
    if len(rows) > limit:
        shown.append([f"(+{len(rows) - limit} more)", ""])
    return [tabulate(shown, headers=["cluster", "rendered change (+added -removed ~changed)"]), ""]


def gates_text(bake: str | None, approval: str) -> str:
    """A step's gates in words: `approval, bake 1h`, or `-`."""
    gates = []
    if approval == "required":
        gates.append("approval")
    if bake:
        gates.append(f"bake {bake}")
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
