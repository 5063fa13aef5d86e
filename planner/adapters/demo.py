"""The bundled example fleet as a throwaway git repository (`plan --demo`).

Builds a repository from `planner/demo/fleet/repo`, commits it, applies the sample change
from `planner/demo/fleet/change` and commits again, in a temporary folder that is removed
afterwards. Git runs with a fixed identity and dates and without the user's configuration
(`planner.adapters.gitrepo`, isolated).
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from planner.adapters import gitrepo

FLEET = resources.files("planner.demo") / "fleet"
ORIGIN = "https://github.com/example/fleet-config"


@dataclass(frozen=True)
class DemoRepo:
    path: Path
    base: str
    head: str


_IDENTITY = ("-c", "user.name=Fleet Author", "-c", "user.email=fleet@example.com")


def _git(repo: Path, *args: str, date: str) -> str:
    """Git in the demo repository: isolated from the user's configuration and variables,
    with a fixed identity and date, so the commits are the same everywhere."""
    proc = gitrepo.call(
        repo,
        *_IDENTITY,
        *args,
        env={"GIT_AUTHOR_DATE": date, "GIT_COMMITTER_DATE": date},
        isolated=True,
    )
    if proc.returncode != 0:
        raise subprocess.CalledProcessError(
            proc.returncode, ["git", *args], proc.stdout, proc.stderr
        )
    return proc.stdout.decode().strip()


def _copy(source: Path, dest: Path) -> None:
    for item in sorted(source.rglob("*")):
        target = dest / item.relative_to(source)
        if item.is_dir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(item, target)


def build(dest: Path) -> DemoRepo:
    """Create the demo repository at `dest` (two commits: base and the sample change)."""
    dest.mkdir(parents=True, exist_ok=True)
    with resources.as_file(FLEET) as fleet:
        _git(dest, "init", "-q", "-b", "main", date="2026-01-01T00:00:00+00:00")
        _git(dest, "remote", "add", "origin", ORIGIN, date="2026-01-01T00:00:00+00:00")
        _copy(Path(fleet) / "repo", dest)
        _git(dest, "add", "-A", date="2026-01-01T00:00:00+00:00")
        _git(dest, "commit", "-q", "-m", "Fleet as it runs today", date="2026-01-01T00:00:00+00:00")
        base = _git(dest, "rev-parse", "HEAD", date="2026-01-01T00:00:00+00:00")
        _copy(Path(fleet) / "change", dest)
        _git(dest, "add", "-A", date="2026-01-02T00:00:00+00:00")
        _git(
            dest,
            "commit",
            "-q",
            "-m",
            "Scrape the monitoring namespace",
            date="2026-01-02T00:00:00+00:00",
        )
        head = _git(dest, "rev-parse", "HEAD", date="2026-01-02T00:00:00+00:00")
    return DemoRepo(dest, base, head)


@contextmanager
def demo_repo() -> Iterator[DemoRepo]:
    with tempfile.TemporaryDirectory(prefix="wave-planner-demo-") as tmp:
        yield build(Path(tmp) / "fleet-config")


def main(argv: list[str] | None = None) -> int:
    """`python -m planner.adapters.demo DEST`: build the demo repository, print its SHAs."""
    import sys

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m planner.adapters.demo DEST", file=sys.stderr)
        return 2
    repo = build(Path(args[0]))
    print(f"{repo.path} {repo.base} {repo.head}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
