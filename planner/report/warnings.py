"""Warnings, grouped by check with counts: after the plan in the terminal, folded in the PR
comment.

A plan over a large fleet can carry dozens of warnings of the same check; read one by one
they drown the plan. Each check becomes one group: its count, the clusters it names, one
representative message and its fix (a fix that only repeats the message is left out).
Violations are not grouped: each one must be read. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from planner.findings import Finding


def fix_of(finding: Finding) -> str | None:
    """The fix line, unless it only repeats the message."""
    fix = (finding.fix or "").strip()
    if not fix or fix.rstrip(".") in finding.message:
        return None
    return fix


@dataclass(frozen=True)
class Group:
    """The warnings of one check."""

    code: str
    findings: tuple[Finding, ...]

    @property
    def count(self) -> int:
        return len(self.findings)

    @property
    def clusters(self) -> list[str]:
        return sorted({f.cluster for f in self.findings if f.cluster})

    @property
    def fixes(self) -> list[str]:
        return list(dict.fromkeys(f for f in (fix_of(x) for x in self.findings) if f))


def grouped(findings: Sequence[Finding]) -> list[Group]:
    """Groups in order of first appearance (findings come sorted by check)."""
    by_code: dict[str, list[Finding]] = {}
    for f in findings:
        by_code.setdefault(f.code, []).append(f)
    return [Group(code, tuple(items)) for code, items in by_code.items()]


def summary(findings: Sequence[Finding]) -> str:
    """`3 warnings: canary-coverage (2), reaches-no-cluster (1)`."""
    groups = grouped(findings)
    n = len(findings)
    parts = ", ".join(f"{g.code} ({g.count})" for g in groups)
    return f"{n} warning{'s' if n != 1 else ''}: {parts}"


def warnings_table(
    findings: Sequence[Finding], *, width: int | None = None, colour: bool = False
) -> str:
    """One row per check: count, the clusters it names, one message and its fix."""
    from planner.report.fit import severity, table
    from planner.report.table import listing

    rows = []
    for group in grouped(findings):
        first = group.findings[0]
        message = first.message
        if group.count > 1:
            message += f" (+{group.count - 1} more like this)"
        fixes = group.fixes
        if fixes:
            message += f"\n  fix: {fixes[0]}"
            if len(fixes) > 1:
                message += f" (+{len(fixes) - 1} other fixes: -o wide)"
        rows.append(
            [
                severity("WARNING", colour),
                group.code,
                group.count,
                listing(group.clusters, 4) or "-",
                message,
            ]
        )
    return table(
        rows,
        ["", "check", "n", "clusters", "message"],
        width=width,
        colalign=("left", "left", "right", "left", "left"),
    )


def folded_warnings(findings: Sequence[Finding], budget: int, trimmed: list[str]) -> str:
    """The PR comment's warnings: one `<details>` block after the plan, one item per check.

    Range notes (reversed range, inventory added) are said at the top instead and are not
    repeated here. Items that do not fit `budget` are counted in `trimmed`.
    """
    from planner.report.markdown.escaping import clip as _clip
    from planner.report.markdown.escaping import code, text
    from planner.report.table import RANGE_NOTES

    findings = [f for f in findings if f.code not in RANGE_NOTES]
    if not findings:
        return ""
    head = f"<details><summary>{text(summary(findings))}</summary>\n\n"
    tail = "\n</details>\n"
    items = []
    for group in grouped(findings):
        first = group.findings[0]
        names = group.clusters
        where = ""
        if names:
            shown = ", ".join(code(n) for n in names[:5])
            where = f" · {shown}" + (f" +{len(names) - 5:,} more" if len(names) > 5 else "")
        message = text(_clip(first.message, 500))
        item = f"- **{text(group.code)}** ({group.count:,}){where}<br>{message}"
        if group.count > 1:
            item += f" (+{group.count - 1:,} more like this)"
        fixes = group.fixes
        if fixes:
            item += f"<br>fix: {text(_clip(fixes[0], 300))}"
        items.append(item + "\n")
    used = len(head) + len(tail)
    shown_items: list[str] = []
    for item in items:
        if used + len(item) > budget:
            break
        shown_items.append(item)
        used += len(item)
    if not shown_items:
        trimmed.append(f"{len(findings):,} warning(s)")
        return ""
    left = len(items) - len(shown_items)
    if left:
        trimmed.append(f"{left:,} warning check(s)")
    return head + "".join(shown_items) + tail
