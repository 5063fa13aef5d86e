"""The terminal table: golden files, the steps table, previews."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner.placement import PreviewRow
from planner.report.table import listing, percent, render_plan, render_preview, summary_line
from planner.selector import parse_selector
from tests.testing.memfleet import memory_plan
from tests.testing.reportplans import GOLDEN_CASES
from tests.testing.sharedplans import planned


@pytest.mark.parametrize(("golden_name", "fleet_name", "emergency"), GOLDEN_CASES)
def test_golden(
    golden_name: str,
    fleet_name: str,
    emergency: str | None,
    golden: Callable[[str, str], None],
) -> None:
    plan = planned(fleet_name, emergency)
    out = render_plan(plan)
    golden(f"report/table-{golden_name}.txt", out)
    assert out.splitlines()[1] == summary_line(plan)


def test_every_step_has_a_row_with_its_share_and_gates() -> None:
    plan = memory_plan(300)
    out = render_plan(plan)
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if "fleet (cum.)" in line) + 2
    end = lines.index("", start)
    steps = {row[1]: row for row in (line.split() for line in lines[start:end])}
    assert list(steps) == [s.name for s in plan.waves]
    first = steps["canary"]
    assert first[2] == str(len(plan.waves[0].clusters))
    production = [s.name for s in plan.waves if s.wave == "production"]
    assert "approval" in steps[production[0]]  # asked once per wave, at its first step
    assert "approval" not in steps[production[-1]]
    assert out.rstrip().endswith("`--format json`")


def test_violations_are_counted_in_the_summary() -> None:
    plan = planned("incident")
    assert "2 violation(s), 1 warning(s)" in summary_line(plan)
    assert "VIOLATION" in render_plan(plan)


@pytest.mark.parametrize(
    ("part", "total", "shown"),
    [
        (0, 7, "0%"),
        (2, 7, "28.6%"),
        (7, 7, "100%"),
        (1, 5000, "<0.1%"),
        (5, 5000, "0.1%"),
        (1, 0, "0%"),
    ],
)
def test_percent(part: int, total: int, shown: str) -> None:
    assert percent(part, total) == shown


@given(st.lists(st.text(min_size=1, max_size=5), max_size=30), st.integers(1, 10))
def test_listing_names_at_most_limit(names: list[str], limit: int) -> None:
    out = listing(names, limit)
    if len(names) > limit:
        assert out.endswith(f"(+{len(names) - limit} more)")
    else:
        assert out == ", ".join(names)


def test_preview_table_and_json() -> None:
    rows = [
        PreviewRow(
            cluster="prod-a", labels={"environment": "production"}, wave="production", rule="rule"
        ),
        PreviewRow(cluster="dev-a", labels={"environment": "dev"}, wave=None, rule="no wave"),
    ]
    selector = parse_selector("environment")
    table = render_preview(selector, rows, as_json=False)
    assert table.startswith("selector ")
    assert "2 cluster(s)" in table
    assert '"wave": null' in render_preview(selector, rows, as_json=True)
    assert render_preview(None, [], as_json=False) == "no cluster matches\n"
