"""The GitHub composite action (action.yml) and the pre-commit hook, run for real.

The action's shell steps are run with bash against a built demo repository, with
`wave-planner` on PATH and a stand-in `gh` that records the API calls, so the find-or-
update logic of the comment is tested without the network.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from planner.plan import Plan
from planner.report.markdown import MARKER, render_plan
from tests.fleetrepo import SCENARIOS_DIR, build_demo_repo, build_fleet_repo

ROOT = Path(__file__).resolve().parent.parent

requires_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not on PATH")


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def steps() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load("action.yml")["runs"]["steps"]
    return found


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in steps() if s.get("id") == step_id)


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


def _write_exe(path: Path, body: str) -> None:
    path.write_text(body, encoding="utf-8")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)


@pytest.fixture
def runner_env(tmp_path: Path) -> dict[str, str]:
    """A fake runner: temp dirs, output files, `wave-planner` and a recording `gh`."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    _write_exe(
        bin_dir / "wave-planner",
        f'#!/bin/sh\nPYTHONPATH="{ROOT}" exec "{sys.executable}" -m planner "$@"\n',
    )
    _write_exe(
        bin_dir / "gh",
        "#!/bin/sh\n"
        'echo "$*" >> "$GH_LOG"\n'
        'case "$*" in\n'
        '  *--paginate*) printf "%s" "$FAKE_IDS" ;;\n'
        '  *-X\\ PATCH*|*-X\\ POST*) cp "$6" "$GH_LOG.payload"; '
        'echo "https://github.test/pr/1#issuecomment-9" ;;\n'
        "esac\n",
    )
    _write_exe(bin_dir / "python", f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    temp = tmp_path / "runner"
    temp.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GIT_", "GITHUB_"))}
    env.update(
        PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}",
        RUNNER_TEMP=str(temp),
        GITHUB_OUTPUT=str(tmp_path / "output"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        GH_LOG=str(tmp_path / "gh.log"),
        GH_REPO="octo/fleet",
        PR_NUMBER="7",
        FAKE_IDS="",
    )
    return env


def run_step(step_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(step_id)["run"]],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def outputs(env: dict[str, str]) -> dict[str, str]:
    lines = Path(env["GITHUB_OUTPUT"]).read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines)


@requires_bash
def test_plan_step_writes_markdown_json_and_the_summary(
    tmp_path: Path, runner_env: dict[str, str]
) -> None:
    built = build_demo_repo(tmp_path / "demo")
    env = {**runner_env, "WP_REPO": str(built.path), "WP_BASE": built.base, "WP_HEAD": built.head}
    env.update(WP_INVENTORY="", WP_POLICY="")
    result = run_step("plan", env)
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
    result = run_step("plan", env)
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
    result = run_step("plan", env)
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
