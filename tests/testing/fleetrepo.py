"""Build real git repositories from the fixture fleets under ``tests/fleets``.

A fixture fleet is a folder laid out as::

    <scenario>/base/          full repository tree at the base commit
    <scenario>/head/          files added or overwritten at the head commit (optional)
    <scenario>/scenario.yaml  description, delete, rename, expected and oracle

``build_fleet_repo`` commits ``base/`` as the first commit, then applies the
renames (``git mv``), the deletions and the ``head/`` overlay, in that order, and
commits the result as the head commit (only when something changed).

Git runs with a fixed identity, fixed dates and without the user's global or system
configuration, so the commit SHAs are the same on every machine.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    from planner.plan import Plan

TESTS_DIR = Path(__file__).resolve().parent.parent
SCENARIOS_DIR = TESTS_DIR / "fleets"
DEMO_FLEET_DIR = TESTS_DIR.parent / "planner" / "demo" / "fleet"

GIT_USER_NAME = "Fleet Author"
GIT_USER_EMAIL = "fleet@example.com"
BASE_DATE = "2024-01-01T00:00:00+00:00"
HEAD_DATE = "2024-01-02T00:00:00+00:00"

_GIT_CONFIG = (
    f"user.name={GIT_USER_NAME}",
    f"user.email={GIT_USER_EMAIL}",
    "commit.gpgsign=false",
    "tag.gpgsign=false",
    "core.autocrlf=false",
    "core.safecrlf=false",
    "core.fileMode=true",
    "core.hooksPath=/dev/null",
    "init.defaultBranch=main",
    "advice.detachedHead=false",
)


@dataclass(frozen=True)
class FleetRepo:
    """A built fleet repository and its two commits (full SHAs)."""

    path: Path
    base: str
    head: str


class FleetFixtureError(ValueError):
    """The fixture folder or its scenario.yaml is malformed."""


def _git_env(date: str | None = None) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("GIT_") or key == "GIT_EXEC_PATH"
    }
    env["GIT_CONFIG_GLOBAL"] = os.devnull
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["LC_ALL"] = "C"
    if date is not None:
        env["GIT_AUTHOR_DATE"] = date
        env["GIT_COMMITTER_DATE"] = date
    return env


def _git(repo: Path, *args: str, date: str | None = None, stdin: bytes | None = None) -> str:
    cmd = ["git"]
    for item in _GIT_CONFIG:
        cmd += ["-c", item]
    cmd += ["-C", str(repo), *args]
    proc = subprocess.run(
        cmd,
        capture_output=True,
        input=stdin,
        env=_git_env(date),
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(args)} failed ({proc.returncode}): {proc.stderr.decode().strip()}"
        )
    return proc.stdout.decode()


def _copy_tree(src: Path, dest: Path) -> None:
    """Copy the files under src onto dest, overwriting files that already exist."""
    for item in sorted(src.rglob("*")):
        if item.is_dir():
            continue
        target = dest / item.relative_to(src)
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item, target)


def _safe_relpath(value: object, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise FleetFixtureError(f"{what}: expected a non-empty path, got {value!r}")
    path = Path(value)
    if path.is_absolute() or ".." in path.parts:
        raise FleetFixtureError(f"{what}: path must be relative and inside the repo: {value!r}")
    return path.as_posix()


def _init_repo(dest: Path) -> None:
    dest.mkdir(parents=True, exist_ok=True)
    if any(dest.iterdir()):
        raise FileExistsError(f"destination is not empty: {dest}")
    _git(dest, "init", "--quiet", "-b", "main")


def _commit(repo: Path, message: str, date: str) -> str:
    _git(repo, "add", "--all", ".")
    _git(repo, "commit", "--quiet", "--no-verify", "-m", message, date=date)
    return _git(repo, "rev-parse", "HEAD").strip()


def _has_changes(repo: Path) -> bool:
    _git(repo, "add", "--all", ".")
    return bool(_git(repo, "status", "--porcelain").strip())


def load_scenario(fleet_dir: Path) -> dict[str, Any]:
    """Read ``scenario.yaml`` of a fixture fleet, with defaults for the optional keys."""
    path = Path(fleet_dir) / "scenario.yaml"
    data: object = {}
    if path.is_file():
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise FleetFixtureError(f"{path}: expected a mapping at the top level")
    scenario: dict[str, Any] = dict(data)
    scenario.setdefault("description", "")
    scenario["delete"] = list(scenario.get("delete") or [])
    scenario["rename"] = list(scenario.get("rename") or [])
    expected = dict(scenario.get("expected") or {})
    for key in ("affected", "unaffected", "removed"):
        expected[key] = list(expected.get(key) or [])
    scenario["expected"] = expected
    scenario["oracle"] = dict(scenario.get("oracle") or {})
    return scenario


def list_scenarios() -> list[str]:
    """Names of the fixture fleets under SCENARIOS_DIR, sorted."""
    if not SCENARIOS_DIR.is_dir():
        return []
    return sorted(
        entry.name
        for entry in SCENARIOS_DIR.iterdir()
        if entry.is_dir() and (entry / "base").is_dir()
    )


def build_fleet_repo(fleet_dir: Path, dest: Path, *, keep: bool = True) -> FleetRepo:
    """Build a two-commit git repository at dest from the fixture fleet at fleet_dir.

    The first build of a fleet (by content) is kept as a template, for the rest of the test
    run and, with `keep`, for later runs (`from_template(keep=True)`); later builds copy it
    (same bytes, same SHAs: the build is deterministic). A fleet whose content names this
    run's temporary folders is never seen again: build it with `keep=False`.
    """
    fleet_dir = Path(fleet_dir)
    key = ("fleet", fleet_dir.name, tree_digest(fleet_dir))  # the name is in the messages
    return from_template(key, dest, lambda d: _build(fleet_dir, d), keep=keep)


def _build(fleet_dir: Path, dest: Path) -> FleetRepo:
    fleet_dir = Path(fleet_dir)
    dest = Path(dest)
    base_dir = fleet_dir / "base"
    if not base_dir.is_dir():
        raise FleetFixtureError(f"{fleet_dir}: no base/ folder")
    scenario = load_scenario(fleet_dir)
    if _importable(fleet_dir, scenario):
        return _build_imported(fleet_dir, dest)

    _init_repo(dest)
    _copy_tree(base_dir, dest)
    base = _commit(dest, f"{fleet_dir.name}: base", BASE_DATE)

    for index, entry in enumerate(scenario["rename"]):
        if not isinstance(entry, dict):
            raise FleetFixtureError(f"rename[{index}]: expected a mapping with from/to")
        src = _safe_relpath(entry.get("from"), f"rename[{index}].from")
        dst = _safe_relpath(entry.get("to"), f"rename[{index}].to")
        (dest / dst).parent.mkdir(parents=True, exist_ok=True)
        _git(dest, "mv", "--", src, dst)
    for index, item in enumerate(scenario["delete"]):
        rel = _safe_relpath(item, f"delete[{index}]")
        _git(dest, "rm", "-r", "--quiet", "--", rel)
    head_dir = fleet_dir / "head"
    if head_dir.is_dir():
        _copy_tree(head_dir, dest)

    head = base
    if _has_changes(dest):
        head = _commit(dest, f"{fleet_dir.name}: head", HEAD_DATE)
    return FleetRepo(path=dest, base=base, head=head)


def _importable(fleet_dir: Path, scenario: dict[str, Any]) -> bool:
    """A fleet `_build_imported` builds as `git add` and `git commit` would: no renames or
    deletions (`git mv`, `git rm`), no git files (ignore rules, attributes) and plain paths."""
    if scenario["rename"] or scenario["delete"]:
        return False
    for item in fleet_dir.rglob("*"):
        if item.name.startswith(".git") or any(c in item.as_posix() for c in '"\\\n'):
            return False
    return True


def _work_files(root: Path) -> dict[str, bytes]:
    """The files `git add --all .` stages in the work tree at root (no ignore rules)."""
    found: dict[str, bytes] = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in files:
            path = Path(folder, name)
            found[path.relative_to(root).as_posix()] = path.read_bytes()
    return found


def _raw_date(date: str) -> str:
    """An ISO date as git's raw format: seconds since the epoch and the offset."""
    when = datetime.fromisoformat(date)
    offset = int((when.utcoffset() or timedelta()).total_seconds()) // 60
    sign = "-" if offset < 0 else "+"
    return f"{int(when.timestamp())} {sign}{abs(offset) // 60:02d}{abs(offset) % 60:02d}"


def _build_imported(fleet_dir: Path, dest: Path) -> FleetRepo:
    """`_build` for an importable fleet (`_importable`) in three git processes instead of
    ten: the same work tree, commits (same SHAs) and index, the objects written by one
    `git fast-import` (in a pack) instead of `git add` and `git commit`."""
    _init_repo(dest)
    _copy_tree(fleet_dir / "base", dest)
    commits = [(f"{fleet_dir.name}: base", BASE_DATE, _work_files(dest))]
    if (fleet_dir / "head").is_dir():
        _copy_tree(fleet_dir / "head", dest)
        head_files = _work_files(dest)
        if head_files != commits[0][2]:
            commits.append((f"{fleet_dir.name}: head", HEAD_DATE, head_files))
    stream = bytearray()
    marks: dict[bytes, int] = {}
    for _, _, files in commits:
        for data in files.values():
            if data not in marks:
                marks[data] = len(marks) + 1
                stream += b"blob\nmark :%d\ndata %d\n%s\n" % (marks[data], len(data), data)
    person = f"{GIT_USER_NAME} <{GIT_USER_EMAIL}>"
    for index, (message, date, files) in enumerate(commits):
        text = f"{message}\n".encode()
        stream += f"commit refs/heads/main\nmark :{len(marks) + index + 1}\n".encode()
        stream += f"author {person} {_raw_date(date)}\n".encode()
        stream += f"committer {person} {_raw_date(date)}\n".encode()
        stream += b"data %d\n%s" % (len(text), text)
        if index:
            stream += f"from :{len(marks) + index}\n".encode()
        stream += b"deleteall\n"
        for path in sorted(files):
            stream += f"M 100644 :{marks[files[path]]} {path}\n".encode()
        stream += b"\n"
    exported = dest / ".git" / "fleet-marks"
    _git(dest, "fast-import", "--quiet", f"--export-marks={exported}", stdin=bytes(stream))
    shas = dict(line.split() for line in exported.read_text().splitlines())
    exported.unlink()
    _git(dest, "reset", "--quiet")  # the index of HEAD, as `git add` and `git commit` leave it
    base = shas[f":{len(marks) + 1}"]
    return FleetRepo(path=dest, base=base, head=shas[f":{len(marks) + len(commits)}"])


def build_demo_repo(dest: Path) -> FleetRepo:
    """The bundled demo fleet, built exactly as `wave-planner plan --demo` builds it."""
    from planner.adapters.demo import build

    def build_demo(path: Path) -> FleetRepo:
        built = build(path)
        return FleetRepo(path=built.path, base=built.base, head=built.head)

    return from_template(("demo", tree_digest(DEMO_FLEET_DIR)), Path(dest), build_demo)


# ---------------------------------------------------------------------------------- plans

_PLANS: dict[tuple[str, str], Plan] = {}


def default_plan(built: FleetRepo) -> Plan:
    """`api.plan` of a built fleet with every default (base..head, the inventory and policy
    of the repository), computed once per test run for each pair of commits: the commits
    name the content, so every copy of a fixture fleet plans the same. Read it, never change
    it (the same object is shared)."""
    from planner import api

    key = (built.base, built.head)
    if key not in _PLANS:
        _PLANS[key] = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    return _PLANS[key]


# ------------------------------------------------------------------------------ templates

_TEMPLATES: dict[tuple[str, ...], FleetRepo] = {}
_TEMPLATE_ROOT: list[Path] = []


def tree_digest(folder: Path) -> str:
    """A digest of every file under folder: relative path, executable bit and bytes."""
    digest = hashlib.sha256()
    for item in sorted(Path(folder).rglob("*")):
        if item.is_file() or item.is_symlink():
            rel = item.relative_to(folder).as_posix()
            mode = "l" if item.is_symlink() else ("x" if os.access(item, os.X_OK) else "f")
            data = os.readlink(item).encode() if item.is_symlink() else item.read_bytes()
            digest.update(f"{rel}\0{mode}\0{len(data)}\0".encode())
            digest.update(data)
    return digest.hexdigest()


def _template_root() -> Path:
    if not _TEMPLATE_ROOT:
        root = Path(tempfile.mkdtemp(prefix="fleet-templates-"))
        atexit.register(shutil.rmtree, root, True)
        _TEMPLATE_ROOT.append(root)
    return _TEMPLATE_ROOT[0]


KEPT_ROOT = TESTS_DIR.parent / ".pytest_cache" / "d" / "fleet-repos"
"""Fixture fleet repositories kept between runs, as compiled bytecode is (tests/conftest.py):
pytest's cache folder is ignored by git and `pytest --cache-clear` empties it."""


_GIT_VERSION: list[str] = []


def _kept_key(key: tuple[str, ...]) -> str:
    """`key` with everything else a build depends on: this module's source (the build
    rules) and git's version."""
    if not _GIT_VERSION:
        proc = subprocess.run(["git", "--version"], capture_output=True, text=True, check=True)
        _GIT_VERSION.append(proc.stdout.strip())
    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"\0{_GIT_VERSION[0]}\0{key!r}".encode())
    return digest.hexdigest()[:32]


def _kept(key: tuple[str, ...], build: Callable[[Path], FleetRepo]) -> FleetRepo | None:
    """The repository `build` makes, from a build of an earlier run with the same `key`
    (made now and kept if there is none); None where the cache folder cannot be written."""
    folder = KEPT_ROOT / _kept_key(key)
    shas = folder / "shas.json"
    if not shas.is_file():
        try:
            KEPT_ROOT.mkdir(parents=True, exist_ok=True)
            work = Path(tempfile.mkdtemp(prefix="build-", dir=KEPT_ROOT))
        except OSError:
            return None
        built = build(work / "repo")
        (work / "shas.json").write_text(json.dumps([built.base, built.head]))
        try:
            work.rename(folder)  # whole or not at all; a concurrent run may have won
        except OSError:
            shutil.rmtree(work, ignore_errors=True)
    base, head = json.loads(shas.read_text())
    return FleetRepo(path=folder / "repo", base=base, head=head)


def from_template(
    key: tuple[str, ...], dest: Path, build: Callable[[Path], FleetRepo], keep: bool = False
) -> FleetRepo:
    """The repository `build` makes, built once per test run under `key` and copied to dest.

    dest must be missing or empty, as for a fresh build. The copy is a file copy of the work
    tree and `.git` (git re-reads the stat data it keeps in the index, nothing else), with
    the object files hard-linked. With `keep` (a build that depends on nothing but `key`,
    this module and git, never on the planner), the template is kept for later runs too.
    """
    dest = Path(dest)
    if dest.exists():
        if any(dest.iterdir()):
            raise FileExistsError(f"destination is not empty: {dest}")
        dest.rmdir()
    template = _TEMPLATES.get(key)
    if template is None and keep:
        template = _kept(key, build)
    if template is None:
        name = hashlib.sha256(repr(key).encode()).hexdigest()[:16]
        template = build(_template_root() / name)
    _TEMPLATES[key] = template
    dest.parent.mkdir(parents=True, exist_ok=True)
    objects = str(template.path / ".git" / "objects") + os.sep

    def copy(src: str, dst: str) -> object:
        """Git objects are linked (git never writes into an object file: it writes a new one
        and renames it); every other file is copied, as a test may change it in place."""
        if src.startswith(objects):
            try:
                os.link(src, dst)
                return dst
            except OSError:
                pass
        return shutil.copy2(src, dst)

    shutil.copytree(template.path, dest, symlinks=True, copy_function=copy)
    return FleetRepo(path=dest, base=template.base, head=template.head)


def main(argv: list[str] | None = None) -> int:
    """``python tests/testing/fleetrepo.py SCENARIO|demo DEST``: build one repository, print its SHAs."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("scenario", help="a folder name under tests/fleets, or 'demo'")
    parser.add_argument("dest", type=Path, help="an empty or missing folder")
    args = parser.parse_args(argv)
    if args.scenario == "demo":
        repo = build_demo_repo(args.dest)
    else:
        repo = build_fleet_repo(SCENARIOS_DIR / args.scenario, args.dest)
    print(f"{repo.path} base={repo.base} head={repo.head}")
    return 0


__all__ = [
    "DEMO_FLEET_DIR",
    "SCENARIOS_DIR",
    "FleetFixtureError",
    "FleetRepo",
    "build_demo_repo",
    "build_fleet_repo",
    "list_scenarios",
    "load_scenario",
]


if __name__ == "__main__":
    raise SystemExit(main())
