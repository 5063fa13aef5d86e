"""The PR comment: golden files, GitHub's size limit, escaping, determinism."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner.cli import app
from planner.plan import (
    Plan,
)
from planner.report import markdown
from planner.report.markdown import LIMIT, MARKER, code, pre, render_plan, summary_line, text
from tests.testing import keptplans
from tests.testing.examples import examples
from tests.testing.memfleet import memory_plan
from tests.testing.paths import ROOT
from tests.testing.reportplans import GOLDEN_CASES, synthetic_plan
from tests.testing.sharedplans import planned

# (golden file, fixture fleet or "demo", emergency reason)


def appears(name: str, comment: str) -> bool:
    """`name` as a whole word (production-1 is not found inside production-10)."""
    return re.search(rf"(?<![\w-]){re.escape(text(name))}(?![\w-])", comment) is not None


_WORD = re.compile(r"[\w-]+")


def missing(names: Iterable[str], comment: str) -> list[str]:
    """The names that do not appear in `comment` as `appears` finds them, in one pass over
    the comment rather than one per name (a plan of a thousand steps took a second).

    A name whose escaped text is all word characters and dashes appears exactly when it
    is one of the comment's longest runs of those characters; any other name is searched
    for as `appears` does."""
    words = set(_WORD.findall(comment))
    out = []
    for name in names:
        escaped = text(name)
        found = escaped in words if _WORD.fullmatch(escaped) is not None else appears(name, comment)
        if not found:
            out.append(name)
    return out


@pytest.mark.parametrize(("golden_name", "fleet_name", "emergency"), GOLDEN_CASES)
def test_golden(
    golden_name: str,
    fleet_name: str,
    emergency: str | None,
    golden: Callable[[str, str], None],
) -> None:
    plan = planned(fleet_name, emergency)
    comment = render_plan(plan)
    golden(f"report/markdown-{golden_name}.md", comment)
    assert comment.startswith(MARKER + "\n")
    assert f"<!-- wave-planner:plan-id {plan.id} -->" in comment
    assert summary_line(plan) in comment
    assert missing((step.name for step in plan.waves), comment) == []


def test_cli_prints_the_comment_of_its_plan() -> None:
    runner = CliRunner()
    as_json = runner.invoke(app, ["plan", "--demo", "--format", "json"])
    as_markdown = runner.invoke(app, ["plan", "--demo", "--format", "markdown"])
    assert as_json.exit_code == as_markdown.exit_code == 0, as_markdown.output
    assert as_markdown.output == render_plan(Plan.model_validate_json(as_json.output))


def test_sections_come_in_reading_order() -> None:
    comment = render_plan(planned("incident"))
    order = ["### Rollout plan", "[!CAUTION]", "#### Changed layers"]
    order += ["#### Steps", "```mermaid", "#### Why these clusters"]
    order += ["<details><summary>1 warning: canary-coverage (1)</summary>", "<sub>plan"]
    positions = [comment.index(marker) for marker in order]
    assert positions == sorted(positions)


def test_emergency_reason_is_in_the_summary_and_the_single_step() -> None:
    plan = planned("demo", "CVE-2026-1234")
    comment = render_plan(plan)
    first_lines = comment.splitlines()[:3]
    assert any("EMERGENCY" in line and "CVE-2026-1234" in line for line in first_lines)
    assert [s.name for s in plan.waves] == ["emergency"]
    assert "emergency: CVE-2026-1234" in comment  # why this wave


def test_no_op_says_so() -> None:
    comment = render_plan(planned("unreferenced-file"))
    assert "No cluster is affected by this change." in comment
    assert "Changed files no cluster reaches" in comment
    assert "Ignored changed files" in comment
    assert "#### Why these clusters" not in comment


# ------------------------------------------------------------------ 5,000 clusters


@pytest.fixture(scope="module")
def big_plan() -> Plan:
    """The 5,000-cluster plan, kept between runs of the same planner (tests/testing/keptplans.py)."""
    return keptplans.memory_plan(5000)


@pytest.mark.slow
def test_5000_clusters_fit_in_one_comment(big_plan: Plan) -> None:
    comment = render_plan(big_plan)
    assert big_plan.summary.clusters_affected == 5000
    assert len(big_plan.waves) > 500
    assert len(comment) <= LIMIT
    assert summary_line(big_plan) in comment.splitlines()[2]
    assert missing((s.name for s in big_plan.waves), comment) == []
    assert "Trimmed to fit GitHub's 65,536-character comment limit" in comment
    assert "`wave-planner plan --format json`" in comment
    assert comment.count("<details>") == comment.count("</details>") > 0


def test_a_smaller_limit_is_respected(big_plan: Plan) -> None:
    for limit in (20_000, 8_000):
        comment = render_plan(big_plan, limit=limit)
        assert len(comment) <= limit
        assert summary_line(big_plan) in comment
        assert "#### Steps" in comment


def test_output_is_deterministic() -> None:
    # 400 clusters (58 steps) already make a comment that is trimmed to fit
    first, second = render_plan(memory_plan(400)), render_plan(memory_plan(400))
    assert "Trimmed to fit" in first
    assert first == second


# ------------------------------------------------------------------ synthetic plans


NASTY = "a|b`c<script>alert(1)</script>*_[x](y) $x$ ~~s~~ @team #1\n</pre></details>|"


@pytest.mark.slow
@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    clusters=st.integers(0, 6000),
    per_step=st.integers(1, 60),
    findings=st.integers(0, 2000),
    layers=st.integers(0, 2000),
    weird=st.one_of(st.text(max_size=80), st.just(NASTY)),
    emergency=st.booleans(),
)
def test_any_plan_fits_and_stays_well_formed(
    *, clusters: int, per_step: int, findings: int, layers: int, weird: str, emergency: bool
) -> None:
    plan = synthetic_plan(
        clusters, per_step, findings=findings, layers=layers, weird=weird, emergency=emergency
    )
    comment = render_plan(plan)
    assert len(comment) <= LIMIT
    assert comment.startswith(MARKER + "\n")
    assert summary_line(plan) in comment
    assert comment.count("<details>") == comment.count("</details>")
    assert comment.count("<pre>") == comment.count("</pre>")
    assert "<script" not in comment
    if "step names shown as ranges" not in comment:
        assert missing((s.name for s in plan.waves), comment) == []
    else:
        assert appears(plan.waves[0].name, comment)
        assert appears(plan.waves[-1].name, comment)


def test_findings_come_first_and_are_trimmed_with_a_note() -> None:
    plan = synthetic_plan(50, 5, findings=4000, layers=3, weird="x", emergency=False)
    comment = render_plan(plan)
    assert len(comment) <= LIMIT
    assert comment.index("[!CAUTION]") < comment.index("#### Steps")
    assert re.search(r"…and [\d,]+ more violation\(s\) in the full plan", comment)
    assert "**2,000 violations**" in comment


# ------------------------------------------------------------------ escaping


@pytest.mark.parametrize(
    ("raw", "rendered"),
    [
        ("plain-name.yaml", "plain-name.yaml"),
        ("a|b", "a\\|b"),
        ("`tick`", "\\`tick\\`"),
        ("<b>&", "&lt;b&gt;&amp;"),
        ("*x* _y_ [l](u) ~s~ $m$", "\\*x\\* \\_y\\_ \\[l\\](u) \\~s\\~ \\$m\\$"),
        ("line\nbreak\ttab", "line\ufffdbreak\ufffdtab"),
        ("back\\slash", "back\\\\slash"),
    ],
)
def test_text_escapes_markdown_and_html(raw: str, rendered: str) -> None:
    assert text(raw) == rendered


def test_code_and_pre() -> None:
    assert code("a|b") == "<code>a\\|b</code>"
    assert pre("</pre>\n<x>") == "&lt;/pre&gt;\n&lt;x&gt;"


@given(st.text())
def test_escaped_text_cannot_break_a_table_row_or_open_a_tag(raw: str) -> None:
    out = text(raw)
    assert "\n" not in out
    assert "<" not in out
    assert ">" not in out
    unescaped = re.sub(r"\\.", "", out)  # drop every backslash escape
    assert not set(unescaped) & set("|`*_[]~$\\")


def test_a_nasty_file_name_keeps_the_layers_table_intact() -> None:
    plan = synthetic_plan(3, 1, findings=0, layers=1, weird=NASTY, emergency=False)
    comment = render_plan(plan)
    row = next(line for line in comment.splitlines() if line.startswith("| <code>layer-0/"))
    cells = re.split(r"(?<!\\)\|", row)
    assert len(cells) == 6  # 4 cells between 5 unescaped pipes
    assert "<script>" not in comment


def test_mermaid_labels_are_sanitised() -> None:
    lines = markdown._mermaid_lines(
        synthetic_plan(3, 1, findings=0, layers=0, weird="x", emergency=False), collapse=False
    )
    assert lines[0] == "flowchart LR"
    assert any("skipped: no affected cluster" in line for line in lines)
    assert markdown._mermaid('a"b]c', "d<e") == '"a_b_c<br/>d_e"'


# ------------------------------------------------------------------ the documented example

DOC = ROOT / "docs" / "pr-comment.md"
EXAMPLES = [
    ("<!-- example:start -->\n", "<!-- example:end -->"),
    ("<!-- example-source:start -->\n````markdown\n", "````\n<!-- example-source:end -->"),
]


def test_docs_example_is_the_demo_output(request: pytest.FixtureRequest) -> None:
    """docs/pr-comment.md shows what `plan --demo --format markdown` prints (rewritten by
    `pytest --update-golden`)."""
    result = CliRunner().invoke(app, ["plan", "--demo", "--format", "markdown"])
    assert result.exit_code == 0, result.output
    doc = DOC.read_text(encoding="utf-8")
    for start, end in EXAMPLES:
        before, rest = doc.split(start, 1)
        shown, after = rest.split(end, 1)
        if request.config.getoption("--update-golden"):
            doc = before + start + result.output + end + after
        else:
            assert shown == result.output, "docs/pr-comment.md is stale: pytest --update-golden"
    if request.config.getoption("--update-golden"):
        DOC.write_text(doc, encoding="utf-8")


def test_one_huge_value_cannot_crowd_out_the_rest() -> None:
    huge = "x" * 200_000
    plan = synthetic_plan(20, 5, findings=3, layers=2, weird=huge, emergency=True)
    comment = render_plan(plan)
    assert len(comment) <= LIMIT
    # the violation one by one, the two warnings as one group with its count
    assert comment.count("**identity-mismatch**") == 2
    assert "**identity-mismatch** (2)" in comment
    assert missing((s.name for s in plan.waves), comment) == []
