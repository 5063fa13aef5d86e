"""A fake GitHub Actions runner for the composite action (action.yml): its steps, run with
bash, `wave-planner` on PATH and a stand-in `gh` that records the API calls."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent.parent


requires_bash = pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not on PATH")


def load(name: str) -> Any:
    return yaml.safe_load((ROOT / name).read_text(encoding="utf-8"))


def steps() -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = load("action.yml")["runs"]["steps"]
    return found


def step(step_id: str) -> dict[str, Any]:
    return next(s for s in steps() if s.get("id") == step_id)


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
