"""A fleet repository whose policy has gates: command gates backed by a health folder.

The fleet is the one of tests/cli/test_rollout.py (steps canary, staging, production-1 =
eu-west, production-2 = us-east). Its command gates run `check.py`, which fails for a name
whose file in the health folder says `bad` and logs every call, so a test can break a
cluster, see which calls were made (per cluster or per step) and mend it again.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from planner.cli import app
from tests.testing.fleetrepo import FleetRepo, build_fleet_repo
from tests.testing.rolloutfleet import git, write_fleet

CHECK = """\
import pathlib, sys
health = pathlib.Path(sys.argv[1])
with (health / "calls.log").open("a") as log:
    log.write(" ".join(sys.argv[2:]) + "\\n")
for name in sys.argv[2:]:
    for part in name.split(","):
        path = health / part
        if path.is_file() and path.read_text().startswith("bad"):
            print(f"checking {part}")
            print(path.read_text().strip())
            sys.exit(1)
print("all healthy")
"""

POLICY = """\
waves:
- name: canary
  selector:
    matchLabels: {{rollout.wave: canary}}
  bake: 1h
  gates:
  - name: healthy
    command: [{py}, {check}, {health}, '{{{{cluster}}}}']
    per: cluster
- name: staging
  selector:
    matchExpressions:
    - {{key: environment, operator: In, values: [dev, staging]}}
  bake: 1h
  gates:
  - name: step-check
    command: [{py}, {check}, {health}, 'step={{{{step}}}}', '{{{{clusters}}}}']
- name: production
  selector:
    matchLabels: {{environment: production}}
  max_clusters: 5
  group_by: region
  bake: 30m
  approval: {approval}
  gates:
  - name: healthy
    command: [{py}, {check}, {health}, '{{{{cluster}}}}']
    per: cluster
  on_failure: {on_failure}
{extra}"""


def build(
    tmp: Path,
    *,
    approval: str = "required",
    on_failure: str = "halt",
    extra: str = "",
    base_files: dict[str, str] | None = None,
    head_files: dict[str, str] | None = None,
) -> tuple[FleetRepo, Path]:
    """The fleet repository and its health folder."""
    health = tmp / "health"
    health.mkdir()
    check = tmp / "check.py"
    check.write_text(CHECK)
    src = tmp / "src"
    write_fleet(src)
    (src / "base" / "rollout.yaml").write_text(
        POLICY.format(
            py=sys.executable, check=check, health=health, approval=approval,
            on_failure=on_failure, extra=extra,
        )
    )  # fmt: skip
    for side, extra_files in (("base", base_files), ("head", head_files)):
        for rel, text in (extra_files or {}).items():
            (src / side / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / side / rel).write_text(text)
    built = build_fleet_repo(src, tmp / "fleet")
    git(built.path, "config", "user.name", "Release Manager")
    git(built.path, "config", "user.email", "rm@example.com")
    git(built.path, "config", "commit.gpgsign", "false")
    git(built.path, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
    return built, health


def calls(health: Path) -> list[str]:
    log = health / "calls.log"
    return log.read_text().splitlines() if log.is_file() else []


def runner(repo: FleetRepo) -> Callable[..., Any]:
    """Run `wave-planner rollout ...` at a time (minutes after 2024-01-03T09:00:00Z)."""
    cli = CliRunner()

    def invoke(*args: str, minute: int = 0, code: int = 0) -> Any:
        hours, minutes = divmod(minute, 60)
        now = f"2024-01-03T{9 + hours:02d}:{minutes:02d}:00Z"
        env = {"WAVE_PLANNER_NOW": now, "GIT_CONFIG_GLOBAL": os.devnull}
        result = cli.invoke(app, ["rollout", *args, "--repo", str(repo.path)], env=env)
        assert result.exit_code == code, (result.stdout, result.stderr, result.exception)
        return result

    return invoke
