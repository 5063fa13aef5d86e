"""The GitHub action with `precise: true`: rendered changes in the comment, the HTML report
next to the JSON plan in the uploaded artifact."""

from __future__ import annotations

from pathlib import Path

from planner.plan import Plan
from planner.report.markdown import render_plan
from tests.testing.actionkit import (
    load,
    outputs,
    requires_bash,
    run_step_forked,
    steps,
)
from tests.testing.fleetrepo import SCENARIOS_DIR, build_fleet_repo
from tests.testing.marks import requires_kubectl


def test_precise_is_an_input_off_by_default() -> None:
    action = load("action.yml")
    assert action["inputs"]["precise"]["default"] == "false"
    assert "html" in action["outputs"]
    upload = next(s for s in steps() if s.get("uses", "").startswith("actions/upload-artifact"))
    assert upload["with"]["name"] == "wave-planner-plan"
    assert "steps.plan.outputs.json" in upload["with"]["path"]
    assert "steps.plan.outputs.html" in upload["with"]["path"]


def _env(
    fake: dict[str, str], built_path: Path, base: str, head: str, precise: str
) -> dict[str, str]:
    env = {**fake, "WP_REPO": str(built_path), "WP_BASE": base, "WP_HEAD": head}
    env.update(WP_INVENTORY="", WP_POLICY="", WP_PRECISE=precise)
    return env


@requires_bash
def test_without_precise_the_report_is_written_too(
    tmp_path: Path,
    runner_env: dict[str, str],
) -> None:
    built = build_fleet_repo(SCENARIOS_DIR / "region-change", tmp_path / "fleet")
    env = _env(runner_env, built.path, built.base, built.head, "false")
    result = run_step_forked("plan", env)
    assert result.returncode == 0, result.stderr
    out = outputs(env)
    assert Path(out["html"]).read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "Rendered changes" not in Path(out["markdown"]).read_text(encoding="utf-8")


@requires_bash
@requires_kubectl
def test_precise_puts_the_rendered_changes_in_the_comment(
    tmp_path: Path, runner_env: dict[str, str], render_cache: Path
) -> None:
    built = build_fleet_repo(SCENARIOS_DIR / "generator-file", tmp_path / "fleet")
    env = _env(runner_env, built.path, built.base, built.head, "true")
    env["WAVE_PLANNER_CACHE"] = str(render_cache)  # the run's renders (tests/conftest.py)
    result = run_step_forked("plan", env)
    assert result.returncode == 0, result.stderr
    out = outputs(env)
    plan = Plan.model_validate_json(Path(out["json"]).read_text(encoding="utf-8"))
    assert len(plan.diff_groups) == 2
    comment = Path(out["markdown"]).read_text(encoding="utf-8")
    assert comment == render_plan(plan)
    assert "#### Rendered changes: 2 distinct effects" in comment
    report = Path(out["html"]).read_text(encoding="utf-8")
    assert all(f'id="group-{g.id}"' in report for g in plan.diff_groups)
