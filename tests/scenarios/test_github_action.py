"""The GitHub composite action (action.yml) and the pre-commit hook, run for real.

The action's shell steps are run with bash against a built demo repository, with
`wave-planner` on PATH and a stand-in `gh` that records the API calls, so the find-or-
update logic of the comment is tested without the network.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from planner.plan import Plan
from planner.report.markdown import MARKER, render_plan
from tests.testing.actionkit import (
    load,
    outputs,
    requires_bash,
    run_step,
    run_step_forked,
    step,
    steps,
)
from tests.testing.fleetrepo import SCENARIOS_DIR, build_demo_repo, build_fleet_repo


def test_action_inputs_and_outputs() -> None:
    action = load("action.yml")
    assert action["runs"]["using"] == "composite"
    wanted = {"repo", "base", "head", "inventory", "policy", "python-version", "comment"}
    assert wanted <= set(action["inputs"])
    assert {"exit-code", "markdown", "json", "comment-url"} <= set(action["outputs"])


def test_action_uses_only_first_party_actions_and_installs_itself() -> None:
    used = sorted(s["uses"].split("@")[0] for s in steps() if "uses" in s)
    assert used == ["actions/setup-python", "actions/upload-artifact"]
    install = next(s for s in steps() if s.get("name") == "Install wave-planner")
    assert install["env"]["ACTION_PATH"] == "${{ github.action_path }}"
    assert '"$ACTION_PATH"' in install["run"]


def test_no_expression_is_expanded_inside_a_script() -> None:
    """Inputs reach scripts through env only (no script injection from a branch name)."""
    for s in steps():
        assert "${{" not in s.get("run", ""), s.get("name")


def test_the_marker_is_the_reports() -> None:
    assert MARKER in step("comment")["run"]


# --------------------------------------------------------------------------- running


@requires_bash
def test_plan_step_writes_markdown_json_and_the_summary(
    tmp_path: Path, runner_env: dict[str, str]
) -> None:
    built = build_demo_repo(tmp_path / "demo")
    env = {**runner_env, "WP_REPO": str(built.path), "WP_BASE": built.base, "WP_HEAD": built.head}
    env.update(WP_INVENTORY="", WP_POLICY="")
    result = run_step_forked("plan", env)
    assert result.returncode == 0, result.stderr
    out = outputs(env)
    assert out["exit-code"] == "0"
    plan = Plan.model_validate_json(Path(out["json"]).read_text(encoding="utf-8"))
    comment = Path(out["markdown"]).read_text(encoding="utf-8")
    assert comment == render_plan(plan)
    summary = Path(env["GITHUB_STEP_SUMMARY"]).read_text(encoding="utf-8")
    assert summary == f"Planned range: `{built.base}...{built.head}`\n\n" + comment
    assert f"::notice title=wave-planner::planning {built.base}...{built.head}" in result.stdout


def test_the_action_plans_once() -> None:
    """One `wave-planner plan` run gives the comment and the JSON (no second plan)."""
    script = step("plan")["run"]
    assert "--format json" not in script
    assert '--format markdown --json-out "$out/plan.json"' in script


@requires_bash
def test_plan_step_on_a_push_plans_what_was_pushed(
    tmp_path: Path, runner_env: dict[str, str]
) -> None:
    built = build_demo_repo(tmp_path / "demo")
    # on a push, the action's WP_BASE is github.event.before and the head is HEAD
    env = {**runner_env, "WP_REPO": str(built.path), "WP_BASE": built.base, "WP_HEAD": ""}
    env.update(WP_INVENTORY="", WP_POLICY="", WP_EVENT="push")
    result = run_step_forked("plan", env)
    assert result.returncode == 0, result.stderr
    plan = Plan.model_validate_json(Path(outputs(env)["json"]).read_text(encoding="utf-8"))
    assert plan.base == built.base
    assert f"planning {built.base}...HEAD (push)" in result.stdout


@requires_bash
def test_plan_step_with_violations_still_leaves_a_comment_to_post(
    tmp_path: Path, runner_env: dict[str, str]
) -> None:
    built = build_fleet_repo(SCENARIOS_DIR / "incident", tmp_path / "incident")
    env = {**runner_env, "WP_REPO": str(built.path), "WP_BASE": built.base, "WP_HEAD": built.head}
    env.update(WP_INVENTORY="", WP_POLICY="")
    result = run_step_forked("plan", env)
    assert result.returncode == 0, result.stderr
    out = outputs(env)
    assert out["exit-code"] == "1"
    assert "[!CAUTION]" in Path(out["markdown"]).read_text(encoding="utf-8")
    fail = next(s for s in steps() if s.get("name") == "Fail on violations")
    assert "steps.plan.outputs.exit-code == '1'" in fail["if"]


@requires_bash
def test_plan_step_fails_on_bad_input(runner_env: dict[str, str], tmp_path: Path) -> None:
    env = {**runner_env, "WP_REPO": str(tmp_path / "missing"), "WP_BASE": "", "WP_HEAD": ""}
    env.update(WP_INVENTORY="", WP_POLICY="")
    result = run_step("plan", env)
    assert result.returncode == 2
    assert outputs(env)["exit-code"] == "2"
    assert "::error" in result.stdout


@requires_bash
@pytest.mark.parametrize(
    ("existing", "method", "endpoint"),
    [
        ("", "POST", "repos/octo/fleet/issues/7/comments"),
        ("42\n43", "PATCH", "repos/octo/fleet/issues/comments/42"),
    ],
)
def test_comment_step_posts_or_updates_by_marker(
    runner_env: dict[str, str], tmp_path: Path, existing: str, method: str, endpoint: str
) -> None:
    body = tmp_path / "plan.md"
    body.write_text(MARKER + "\nhello | `world` <b>\n", encoding="utf-8")
    (Path(runner_env["RUNNER_TEMP"]) / "wave-planner").mkdir()
    env = {**runner_env, "FAKE_IDS": existing, "BODY_FILE": str(body), "GH_TOKEN": "t"}
    result = run_step("comment", env)
    assert result.returncode == 0, result.stderr
    calls = Path(env["GH_LOG"]).read_text(encoding="utf-8").splitlines()
    assert calls[0].startswith("api --paginate repos/octo/fleet/issues/7/comments --jq")
    assert re.match(rf"api -X {method} {re.escape(endpoint)} --input ", calls[1])
    payload = json.loads(Path(env["GH_LOG"] + ".payload").read_text(encoding="utf-8"))
    assert payload == {"body": body.read_text(encoding="utf-8")}
    assert outputs(env)["url"] == "https://github.test/pr/1#issuecomment-9"


# --------------------------------------------------------------------------- pre-commit


def test_pre_commit_hook_runs_emit_check() -> None:
    hooks = load(".pre-commit-hooks.yaml")
    hook = next(h for h in hooks if h["id"] == "wave-planner-emit-check")
    assert hook["entry"] == "wave-planner emit --check"
    assert hook["language"] == "python"
    assert hook["pass_filenames"] is False
