"""The installed command (`planner.cli.run`, also `python -m planner`) ends the process
without tearing down its heap: what the command printed still arrives whole, and the exit
code is the command's."""

from __future__ import annotations

import subprocess
import sys

import pytest

from planner.errors import ExitCode

CASES = [
    pytest.param(["--version"], ExitCode.OK, "wave-planner ", id="version"),
    pytest.param(["plan", "--no-such-flag"], ExitCode.BAD_INPUT, "No such option", id="usage"),
    pytest.param(["rollout", "status", "x", "--repo", "/nonexistent/wave-planner-repo"],
                 ExitCode.BAD_INPUT, "error:", id="bad-input"),
]  # fmt: skip


@pytest.mark.parametrize(("args", "code", "says"), CASES)
def test_the_process_exits_with_the_commands_code_and_all_its_output(
    args: list[str], code: ExitCode, says: str
) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "planner", *args], check=False, capture_output=True, text=True
    )
    assert done.returncode == code, done.stderr
    assert says in done.stdout + done.stderr


def test_a_long_output_arrives_whole_through_a_pipe() -> None:
    """`plan --demo --format json` writes tens of kilobytes: the flush before `os._exit`
    must deliver every byte (the JSON parses, the last line is complete)."""
    import json

    done = subprocess.run(
        [sys.executable, "-m", "planner", "plan", "--demo", "--format", "json"],
        check=False,
        capture_output=True,
    )
    assert done.returncode in (ExitCode.OK, ExitCode.VIOLATIONS), done.stderr
    assert len(done.stdout) > 4096
    json.loads(done.stdout)
    assert done.stdout.endswith(b"\n")
