"""Guardrail findings as a table, JSON or Markdown (validate, and inside plan reports)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import TYPE_CHECKING

from tabulate import tabulate

from planner.report.fit import severity, table
from planner.report.warnings import fix_of

if TYPE_CHECKING:
    from planner.findings import Finding, Validation


def findings_table(
    findings: Sequence[Finding],
    fmt: str = "simple",
    *,
    width: int | None = None,
    colour: bool = False,
) -> str:
    rows = [
        [
            severity(f.severity.upper(), colour),
            f.code,
            f.cluster or "-",
            f.message + (f"\n  fix: {fix_of(f)}" if fix_of(f) and fmt == "simple" else ""),
        ]
        for f in findings
    ]
    headers = ["", "check", "cluster", "message"]
    if fmt == "simple":
        return table(rows, headers, width=width)
    return tabulate(rows, headers=headers, tablefmt=fmt)


def render_validation(
    result: Validation, fmt: str, *, width: int | None = None, colour: bool = False
) -> str:
    """`validate`'s report: `table` groups the warnings by check (after the violations),
    `wide` lists every finding, `markdown` and `json` list every finding too."""
    if fmt == "json":
        data = {
            "clusters": result.clusters,
            "ok": not result.violations,
            "violations": [f.model_dump(mode="json") for f in result.violations],
            "warnings": [f.model_dump(mode="json") for f in result.warnings],
        }
        return json.dumps(data, indent=2) + "\n"
    verdict = (
        f"{len(result.violations)} violation(s), {len(result.warnings)} warning(s) "
        f"in {result.clusters} cluster(s)"
    )
    if fmt == "markdown":
        out = [f"### wave-planner validate: {verdict}", ""]
        if result.findings:
            out += [findings_table(result.findings, "github"), ""]
        return "\n".join(out)
    if not result.findings:
        return f"ok: {verdict}\n"
    if fmt == "wide":
        return findings_table(result.findings, width=width, colour=colour) + f"\n\n{verdict}\n"
    from planner.report.warnings import warnings_table

    parts = []
    if result.violations:
        parts.append(findings_table(result.violations, width=width, colour=colour))
    if result.warnings:
        parts.append(warnings_table(result.warnings, width=width, colour=colour))
    return "\n\n".join(parts) + f"\n\n{verdict}\n"
