"""A small git repository of named files, for the git adapter's tests."""

from __future__ import annotations

import subprocess
from collections.abc import Iterable
from pathlib import Path


def git(root: Path, *args: str, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True, env=env)
    return done.stdout.decode().strip()


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def committed(root: Path, paths: Iterable[str]) -> Path:
    """A new repository at `root` on branch main, each path holding its own name, committed."""
    root.mkdir()
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "t@example.com")
    git(root, "config", "user.name", "t")
    for rel in paths:
        write(root / rel, rel + "\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root
