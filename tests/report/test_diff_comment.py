"""The rendered changes in the PR comment: largest first, collapsed, within GitHub's limit."""

from __future__ import annotations

import re

import pytest

from planner.diff_groups import DiffGroup, ObjectChange
from planner.plan import Plan
from planner.report.diff_comment import FULL_REPORT, render_groups
from planner.report.markdown import LIMIT, render_plan, summary_line
from tests.testing.memfleet import memory_plan
from tests.testing.reportplans import synthetic_plan


def _diff(group: int, lines: int) -> str:
    body = "".join(f"-  key-{i}: old-{group}\n+  key-{i}: new-{group}\n" for i in range(lines))
    return (
        f"--- a/ConfigMap/apps/settings-{group}\n+++ b/ConfigMap/apps/settings-{group}\n"
        f"@@ -1,{lines} +1,{lines} @@\n{body}"
    )


def with_groups(plan: Plan, sizes: list[int], lines: int) -> Plan:
    """`plan` with synthetic groups of the given sizes over its affected clusters."""
    names = [a.cluster for a in plan.affected]
    assert sum(sizes) == len(names)
    groups = []
    start = 0
    for index, size in enumerate(sizes):
        members = tuple(sorted(names[start : start + size]))
        start += size
        groups.append(
            DiffGroup(
                id=f"{index:012x}",
                clusters=members,
                objects=(
                    ObjectChange(object=f"ConfigMap/apps/settings-{index}", change="changed"),
                ),
                diff=_diff(index, lines),
                placeholders=("${name}",) if index % 2 else (),
                regions=("eu-west", "us-east"),
            )
        )
    group_of = {c: g.id for g in groups for c in g.clusters}
    affected = tuple(
        a.model_copy(update={"diff_group": group_of[a.cluster]}) for a in plan.affected
    )
    return plan.model_copy(update={"diff_groups": tuple(groups), "affected": affected})


@pytest.fixture(scope="module")
def plan_5000() -> Plan:
    """5,000 affected clusters in 1,000 steps, built directly (no hierarchy, no render)."""
    return synthetic_plan(5000, 5, findings=4, layers=3, weird="settings", emergency=False)


def _check(comment: str, plan: Plan) -> None:
    assert len(comment) <= LIMIT
    assert summary_line(plan) in comment
    assert comment.count("<details>") == comment.count("</details>")
    # fences are balanced: every ```diff (and ```mermaid) block is closed
    assert len(re.findall(r"^```\w+$", comment, re.M)) == len(re.findall(r"^```$", comment, re.M))


def test_three_groups_at_5000_clusters_fit(plan_5000: Plan) -> None:
    plan = with_groups(plan_5000, [4812, 150, 38], lines=400)
    comment = render_plan(plan)
    _check(comment, plan)
    assert "#### Rendered changes: 3 distinct effects on 5,000 cluster(s)" in comment
    order = [comment.index(f"group <code>{g.id}</code>") for g in plan.diff_groups]
    assert order == sorted(order)  # largest first
    assert "<b>4,812 clusters</b>" in comment
    assert comment.count("```diff") == 3
    assert f"more line(s) in the full report ({FULL_REPORT})" in comment  # 400 lines are cut


def test_500_groups_at_5000_clusters_fit_and_the_rest_is_summarised(plan_5000: Plan) -> None:
    plan = with_groups(plan_5000, [10] * 500, lines=30)
    comment = render_plan(plan)
    _check(comment, plan)
    assert "#### Rendered changes: 500 distinct effects" in comment
    shown = comment.count("```diff")
    assert 3 <= shown < 500
    assert f"…and {500 - shown:,} more group(s) of rendered changes" in comment
    assert "`wave-planner-plan` artifact" in comment
    assert "group(s) of rendered changes" in comment.split("Trimmed to fit")[1]


def test_a_diff_with_backticks_gets_a_longer_fence() -> None:
    plan = with_groups(memory_plan(20), [20], lines=2)
    group = plan.diff_groups[0].model_copy(update={"diff": "+  script: |\n+    ```\n+    ````\n"})
    section, omitted = render_groups(plan.model_copy(update={"diff_groups": (group,)}), 10_000)
    assert omitted == 0
    assert "`````diff\n" in section and "\n`````\n</details>" in section


def test_no_groups_no_section() -> None:
    plan = memory_plan(20)
    assert render_groups(plan, 10_000) == ("", 0)
    assert "Rendered changes" not in render_plan(plan)


def test_cluster_names_in_summaries_are_escaped() -> None:
    plan = with_groups(memory_plan(20), [20], lines=2)
    group = plan.diff_groups[0].model_copy(update={"regions": ("<script>",)})
    section, _ = render_groups(plan.model_copy(update={"diff_groups": (group,)}), 10_000)
    assert "<script>" not in section
