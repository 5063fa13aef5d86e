"""A fake GitHub Actions runner for the composite action (action.yml): its steps, run with
bash, `wave-planner` on PATH and a stand-in `gh` that records the API calls.

`run_step` puts the real command on PATH (`python -m planner`, a new Python each time);
`run_step_forked` one that runs the same entry point (`planner.cli.run`) in a child
forked from the test process, where the planner is already imported: the step's script,
its redirections and exit codes are the same, without importing the planner again for
each of the step's two `wave-planner` runs (about a CPU-second each).
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import selectors
import shutil
import socket
import stat
import subprocess
import sys
import traceback
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


CLIENT = """\
import json, os, socket, sys
conn = socket.socket(socket.AF_UNIX)
conn.connect({address!r})
data = json.dumps([sys.argv[1:], os.getcwd(), dict(os.environ)]).encode()
socket.send_fds(conn, [data], [0, 1, 2])
conn.shutdown(socket.SHUT_WR)
reply = b""
while chunk := conn.recv(64):
    reply += chunk
sys.exit(int(reply or b"70"))
"""
"""The forked `wave-planner` on PATH: its arguments, folder, environment and standard
streams go to the test process, which runs the command in a forked child and answers with
its exit code."""

FORKABLE = hasattr(os, "pidfd_open") and hasattr(socket, "AF_UNIX") and sys.platform == "linux"
"""Forking the command needs fork, pidfd_open and Linux's abstract sockets; elsewhere
`run_step_forked` is `run_step`."""


def _run_forked(conn: socket.socket) -> int:
    """One `wave-planner` run of the client on `conn`, in a forked child: its exit code."""
    data, fds, _, _ = socket.recv_fds(conn, 1 << 16, 3)
    while chunk := conn.recv(1 << 16):
        data += chunk
    args, cwd, env = json.loads(data)
    pid = os.fork()
    if pid == 0:  # the child: the command's process from here on
        code = 70
        try:
            for number, fd in enumerate(fds):
                os.dup2(fd, number)
            os.chdir(cwd)
            os.environ.clear()
            os.environ.update(env)
            # the process's own streams, as a new Python opens them
            sys.stdin = open(0, closefd=False)  # noqa: SIM115
            sys.stdout = open(1, "w", encoding="utf-8", closefd=False)  # noqa: SIM115
            sys.stderr = open(2, "w", encoding="utf-8", errors="backslashreplace", closefd=False)  # noqa: SIM115
            from planner.cli import run

            run(args)  # flushes the streams and ends the child with the command's code
        except BaseException:
            traceback.print_exc()
        finally:
            with contextlib.suppress(BaseException):
                sys.stderr.flush()
            os._exit(code)
    for fd in fds:
        os.close(fd)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


def run_step_forked(step_id: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """`run_step`, with `wave-planner` forked from this process (see the module docstring)."""
    if not FORKABLE:
        return run_step(step_id, env)
    address = f"\0wave-planner-{os.getpid()}-{secrets.token_hex(8)}"
    bin_dir = Path(env["RUNNER_TEMP"]).parent / "forked-bin"
    bin_dir.mkdir(exist_ok=True)
    _write_exe(
        bin_dir / "wave-planner",
        f"#!{sys.executable} -IS\n" + CLIENT.format(address=address),
    )
    env = {**env, "PATH": f"{bin_dir}{os.pathsep}{env['PATH']}"}
    out_path, err_path = bin_dir / "stdout", bin_dir / "stderr"
    with (
        socket.socket(socket.AF_UNIX) as server,
        out_path.open("w+") as out,
        err_path.open("w+") as err,
    ):
        server.bind(address)
        server.listen()
        proc = subprocess.Popen(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", step(step_id)["run"]],
            env=env, stdout=out, stderr=err, stdin=subprocess.DEVNULL, text=True,
        )  # fmt: skip
        done = os.pidfd_open(proc.pid)
        try:
            with selectors.DefaultSelector() as waiting:
                waiting.register(server, selectors.EVENT_READ)
                waiting.register(done, selectors.EVENT_READ)
                while proc.poll() is None:
                    for key, _ in waiting.select():
                        if key.fileobj is server:
                            conn, _ = server.accept()
                            with conn:
                                conn.sendall(str(_run_forked(conn)).encode())
        finally:
            os.close(done)
        out.seek(0)
        err.seek(0)
        return subprocess.CompletedProcess(proc.args, proc.wait(), out.read(), err.read())
