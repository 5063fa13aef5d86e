"""The pull-request comment (`plan --format markdown`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from planner.report.findings import findings_table
from planner.report.table import summary_line

if TYPE_CHECKING:
    from planner.plan import Plan

MARKER = "<!-- wave-planner:plan -->"


def render_plan(plan: Plan) -> str:
    out = [MARKER, f"### wave-planner: {summary_line(plan)}", ""]
    findings = [*plan.violations, *plan.warnings]
    if findings:
        out += [findings_table(findings, "github"), ""]
    for step in plan.waves:
        out.append(f"- **{step.name}**: {', '.join(step.clusters)}")
    return "\n".join(out) + "\n"
