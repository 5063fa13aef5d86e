"""A fleet repository whose policy has gates: command gates backed by a health folder.

The fleet is the one of tests/cli/test_rollout.py (steps canary, staging, production-1 =
eu-west, production-2 = us-east). Its command gates run `check.py`, which fails for a name
whose file in the health folder says `bad` and logs every call, so a test can break a
cluster, see which calls were made (per cluster or per step) and mend it again. It runs
with `python -I -S` (no site packages, no environment): it needs neither, and a gate call
then starts in about half the time.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from planner.cli import app
from tests.testing.fleetrepo import FleetRepo, build_fleet_repo, from_template, tree_digest
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
    command: [{py}, -I, -S, {check}, {health}, '{{{{cluster}}}}']
    per: cluster
- name: staging
  selector:
    matchExpressions:
    - {{key: environment, operator: In, values: [dev, staging]}}
  bake: 1h
  gates:
  - name: step-check
    command: [{py}, -I, -S, {check}, {health}, 'step={{{{step}}}}', '{{{{clusters}}}}']
- name: production
  selector:
    matchLabels: {{environment: production}}
  max_clusters: 5
  group_by: region
  bake: 30m
  approval: {approval}
  gates:
  - name: healthy
    command: [{py}, -I, -S, {check}, {health}, '{{{{cluster}}}}']
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
    relative: bool = False,
    start: str | None = None,
) -> tuple[FleetRepo, Path]:
    """The fleet repository and its health folder.

    With `relative`, the gates name `check.py` and `health` relative to the working folder
    (the test runs in `tmp`): the policy, so the repository, is then the same for every test
    with the same arguments, built once per test run and copied. With `start`, the rollout
    of that name is started in it (`rollout start --name START --base HEAD~1 --head HEAD
    --policy rollout.yaml --commit` at 09:00), also once per run when `relative`."""
    health = tmp / "health"
    health.mkdir()
    check = tmp / "check.py"
    check.write_text(CHECK)
    src = tmp / "src"
    write_fleet(src)
    named = (Path("check.py"), Path("health")) if relative else (check, health)
    (src / "base" / "rollout.yaml").write_text(
        POLICY.format(
            py=sys.executable, check=named[0], health=named[1], approval=approval,
            on_failure=on_failure, extra=extra,
        )
    )  # fmt: skip
    for side, extra_files in (("base", base_files), ("head", head_files)):
        for rel, text in (extra_files or {}).items():
            (src / side / rel).parent.mkdir(parents=True, exist_ok=True)
            (src / side / rel).write_text(text)

    def make(path: Path) -> FleetRepo:
        built = build_fleet_repo(src, path, keep=relative)  # absolute paths: this run only
        git(built.path, "config", "user.name", "Release Manager")
        git(built.path, "config", "user.email", "rm@example.com")
        git(built.path, "config", "commit.gpgsign", "false")
        git(built.path, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
        if start is not None:
            runner(built)(
                "start", "--name", start, "--base", "HEAD~1", "--head", "HEAD",
                "--policy", "rollout.yaml", "--commit",
            )  # fmt: skip
        return built

    if not relative:
        return make(tmp / "fleet"), health
    key = ("gatefleet", tree_digest(src), start or "")
    return from_template(key, tmp / "fleet", make), health


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
