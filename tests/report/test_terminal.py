"""The plan on a terminal: fits COLUMNS, colour only when wanted, warnings grouped by check.

Goldens (refreshed with `pytest --update-golden`): the incident plan at 80 columns, with
and without colour, and the PR comment's folded warnings.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.findings import Finding
from planner.report import fit
from planner.report.markdown import render_plan as render_markdown
from planner.report.table import render_plan
from planner.report.warnings import fix_of, folded_warnings, grouped, summary, warnings_table
from tests.testing.fleetrepo import FleetRepo
from tests.testing.sharedplans import planned

runner = CliRunner()


def _widths(text: str) -> list[int]:
    return [fit.visible_len(line) for line in text.splitlines()]


def test_golden_incident_at_80_columns(golden: Callable[[str, str], None]) -> None:
    plan = planned("incident")
    out = render_plan(plan, width=80)
    golden("terminal/plan-incident-80.txt", out)
    assert max(_widths(out)) <= 80
    assert "\x1b[" not in out


def test_golden_incident_in_colour(golden: Callable[[str, str], None]) -> None:
    plan = planned("incident")
    out = render_plan(plan, width=80, colour=True)
    golden("terminal/plan-incident-80-colour.txt", out)
    assert f"{fit.RED}VIOLATION{fit.RESET}" in out
    assert f"{fit.YELLOW}WARNING{fit.RESET}" in out
    assert fit._ANSI.sub("", out) == render_plan(plan, width=80)


def test_golden_folded_warnings(golden: Callable[[str, str], None]) -> None:
    plan = planned("incident")
    comment = render_markdown(plan)
    start = comment.index("<details><summary>1 warning")
    golden("terminal/markdown-incident-warnings.md", comment[start : comment.index("<sub>")])
    assert comment.index("#### Why these clusters") < start


@pytest.mark.parametrize(
    ("env", "coloured"),
    [
        ({"FORCE_COLOR": "1"}, True),
        ({"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        ({}, False),  # not a terminal (a pipe): no colour
    ],
)
def test_colour_switch_from_the_command_line(
    fleet: Callable[[str], FleetRepo], env: dict[str, str], coloured: bool
) -> None:
    built = fleet("incident")
    args = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    result = runner.invoke(app, args, env={"NO_COLOR": "", "FORCE_COLOR": "", **env})
    assert result.exit_code == 1
    assert ("\x1b[31m" in result.stdout) is coloured


def test_columns_from_the_environment(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("incident")
    args = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    narrow = runner.invoke(app, args, env={"COLUMNS": "80"})
    assert max(_widths(narrow.stdout)) <= 80
    wide = runner.invoke(app, args, env={"COLUMNS": ""})
    assert max(_widths(wide.stdout)) > 80  # a pipe without COLUMNS: whole lines


@given(
    st.lists(
        st.lists(st.text(alphabet="abc-/, xyz", min_size=0, max_size=60), min_size=3, max_size=3),
        min_size=1,
        max_size=5,
    ),
    st.integers(min_value=40, max_value=120),
)
def test_a_table_never_exceeds_its_width(rows: list[list[str]], width: int) -> None:
    out = fit.table(rows, ["one", "two", "three"], width=width)
    assert max(_widths(out)) <= width


def test_cut_ends_with_an_ellipsis() -> None:
    assert fit.cut("abcdef", 4) == "abc…"
    assert fit.cut("abc", 4) == "abc"


# ------------------------------------------------------------------------------ grouping


def _warning(
    code: str, message: str, cluster: str | None = None, fix: str | None = None
) -> Finding:
    return Finding(code=code, severity="warning", message=message, cluster=cluster, fix=fix)


def test_warnings_are_grouped_by_check_with_counts() -> None:
    findings = [
        _warning("canary-coverage", "step p-1 releases a", "a", "label a"),
        _warning("canary-coverage", "step p-2 releases b", "b", "label b"),
        _warning("reaches-no-cluster", "x.yaml changed but no cluster reaches it"),
    ]
    groups = grouped(findings)
    assert [(g.code, g.count, g.clusters) for g in groups] == [
        ("canary-coverage", 2, ["a", "b"]),
        ("reaches-no-cluster", 1, []),
    ]
    assert summary(findings) == "3 warnings: canary-coverage (2), reaches-no-cluster (1)"
    table = warnings_table(findings)
    assert table.count("canary-coverage") == 1
    assert "(+1 more like this)" in table


def test_a_fix_never_repeats_its_message() -> None:
    finding = _warning("unknown-label-key", "key 'regoin' is unknown; did you mean 'region'?")
    assert fix_of(finding.model_copy(update={"fix": "did you mean 'region'?"})) is None
    assert fix_of(finding.model_copy(update={"fix": "rename it"})) == "rename it"


def test_folded_warnings_fit_their_budget() -> None:
    findings = [_warning(f"check-{i}", "m" * 100) for i in range(20)]
    trimmed: list[str] = []
    block = folded_warnings(findings, 1_000, trimmed)
    assert len(block) <= 1_000
    assert block.startswith("<details><summary>20 warnings")
    assert trimmed and "warning check(s)" in trimmed[0]
