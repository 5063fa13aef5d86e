"""Git for small throwaway repositories: a fixed identity, no user or system config, quiet."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

_GIT = (
    "git",
    "-c",
    "user.name=t",
    "-c",
    "user.email=t@example.com",
    "-c",
    "core.hooksPath=/dev/null",
)


def quiet_git(repo: Path, *args: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    subprocess.run([*_GIT, "-C", str(repo), *args], check=True, capture_output=True, env=env)
