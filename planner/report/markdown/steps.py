"""The steps table of the pull-request comment: one row per step (or per run of similar
steps when the fleet is large), with its share of the fleet, the regions and compliance
classes it covers and its gates. Pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.report.markdown.budget import Budget, fit, json_note
from planner.report.markdown.escaping import counted, name_list, text
from planner.report.table import gates_text, percent

if TYPE_CHECKING:
    from planner.plan import Plan, StepSummary

MAX_NAMES = 5  # cluster names shown in a step row
MAX_VALUES = 6  # label values (regions, compliance) shown in a cell


def gates(step: StepSummary) -> str:
    return text(gates_text(step.bake, step.approval))


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class _Run:
    """Consecutive steps of one wave and group with the same gates (large plans)."""

    steps: tuple[StepSummary, ...]

    @property
    def first(self) -> StepSummary:
        return self.steps[0]

    def clusters(self) -> int:
        return sum(len(s.clusters) for s in self.steps)

    def values(self, attr: str) -> list[str]:
        found: set[str] = set()
        for step in self.steps:
            found.update(getattr(step, attr))
        return sorted(found)


def _runs(steps: Sequence[StepSummary]) -> list[_Run]:
    runs: list[list[StepSummary]] = []
    for step in steps:
        last = runs[-1][-1] if runs else None
        if last is not None and (last.wave, last.group, gates(last)) == (
            step.wave,
            step.group,
            gates(step),
        ):
            runs[-1].append(step)
        else:
            runs.append([step])
    return [_Run(tuple(r)) for r in runs]


def _step_rows(plan: Plan, *, names: bool) -> list[str]:
    total = plan.summary.clusters_total
    rows = []
    done = 0
    for index, step in enumerate(plan.waves, start=1):
        done += len(step.clusters)
        clusters = f"{len(step.clusters):,}"
        if names:
            clusters += ": " + name_list(step.clusters, MAX_NAMES)
        rows.append(
            f"| {index} | **{text(step.name)}** | {clusters} | "
            f"{percent(len(step.clusters), total)} | {percent(done, total)} | "
            f"{name_list(step.regions, MAX_VALUES, text) or '-'} | "
            f"{name_list(step.compliance, MAX_VALUES, text) or '-'} | {gates(step)} |\n"
        )
    return rows


def _run_rows(plan: Plan, *, ranges: bool) -> list[str]:
    total = plan.summary.clusters_total
    rows = []
    done = 0
    for run in _runs(plan.waves):
        n = run.clusters()
        done += n
        names = [s.name for s in run.steps]
        if ranges and len(names) > 2:
            listed = f"{text(names[0])} … {text(names[-1])}"
        else:
            listed = ", ".join(text(s) for s in names)
        sizes = sorted({len(s.clusters) for s in run.steps})
        size = f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}"
        rows.append(
            f"| **{counted(len(names), 'step')}**: {listed} | {n:,} ({size} per step) | "
            f"{percent(n, total)} | {percent(done, total)} | "
            f"{name_list(run.values('regions'), MAX_VALUES, text) or '-'} | "
            f"{name_list(run.values('compliance'), MAX_VALUES, text) or '-'} | "
            f"{gates(run.first)} |\n"
        )
    return rows


_STEP_HEAD = (
    "| # | step | clusters | % of fleet | cumulative | regions | compliance | gates |\n"
    "|--:|---|---|--:|--:|---|---|---|\n"
)
_RUN_HEAD = (
    "| steps | clusters | % of fleet | cumulative | regions | compliance | gates |\n"
    "|---|---|--:|--:|---|---|---|\n"
)


def steps_table(plan: Plan, budget: Budget) -> str:
    """The steps table, in the most detailed form that fits; every step named if at all possible."""
    if not plan.waves and not plan.skipped_waves:
        return ""
    tail = ""
    if plan.skipped_waves:
        tail = (
            "\nSkipped (no affected cluster): "
            + ", ".join(text(w) for w in plan.skipped_waves)
            + "\n"
        )
    title = "#### Steps\n\n"
    if not plan.waves:
        return title + tail.lstrip("\n")
    room = budget.share(0.6)
    candidates = [
        (_STEP_HEAD, _step_rows(plan, names=True)),
        (_STEP_HEAD, _step_rows(plan, names=False)),
        (_RUN_HEAD, _run_rows(plan, ranges=False)),
    ]
    for head, rows in candidates:
        section = title + head + "".join(rows) + tail
        if len(section) <= room:
            return section
    rows = _run_rows(plan, ranges=True)
    section, omitted = fit(
        title + _RUN_HEAD, rows, len(rows), json_note("step rows"), room - len(tail)
    )
    budget.trimmed.append("step names shown as ranges")
    if omitted:
        budget.trimmed.append(f"{omitted:,} step row(s)")
    return section + tail
