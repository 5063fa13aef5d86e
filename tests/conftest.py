"""Shared fixtures: real git repositories built from the named fixture fleets; the
hypothesis profile of the run (tests/testing/examples.py)."""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

PYCACHE = Path(__file__).resolve().parent.parent / ".pytest_cache" / "d" / "pycache"


def _keep_bytecode() -> None:
    """Compiled bytecode is kept between runs, outside the sources, where the environment
    forbids writing it (PYTHONDONTWRITEBYTECODE).

    A workstation keeps `__pycache__/` beside the sources, so a second run neither compiles
    the planner nor rewrites the test modules' asserts again. Where writing bytecode is
    forbidden, every run (and every child Python, `python -m planner` in a subprocess) would
    compile everything again: about 7 CPU-s per run. Python and pytest's assert rewriting
    both read and write under `sys.pycache_prefix`, keyed by each source's size and mtime,
    so an edited module is compiled again; pytest's cache folder is ignored by git and
    `pytest --cache-clear` empties it. The bytecode installers compiled beside the standard
    library and the installed packages is linked there, not compiled again
    (tests/testing/bytecode.py). Set before the helpers below are imported.
    """
    if not os.environ.get("PYTHONDONTWRITEBYTECODE") or os.environ.get("PYTHONPYCACHEPREFIX"):
        return
    try:
        PYCACHE.mkdir(parents=True, exist_ok=True)
    except OSError:
        return  # a checkout that cannot be written: compile as before
    del os.environ["PYTHONDONTWRITEBYTECODE"]
    os.environ["PYTHONPYCACHEPREFIX"] = str(PYCACHE)  # for child Pythons
    sys.dont_write_bytecode = False
    sys.pycache_prefix = str(PYCACHE)
    from tests.testing.bytecode import seed_installed

    seed_installed()  # what installers compiled is not compiled again under the prefix


_keep_bytecode()


def _short_go_processes() -> None:
    """The tests' own `kubectl kustomize` runs (the emulated controllers, rendered truth)
    start a Go process per render that lives a tenth of a second: garbage collection is
    about a third of its CPU and frees nothing that matters. Off unless the environment
    says otherwise, with a memory limit that brings it back for a large render. The
    planner's renderer gives kubectl an environment of its own: unaffected."""
    os.environ.setdefault("GOGC", "off")
    os.environ.setdefault("GOMEMLIMIT", "512MiB")


_short_go_processes()

from tests.testing.examples import register_profiles  # noqa: E402
from tests.testing.fleetrepo import (  # noqa: E402
    SCENARIOS_DIR,
    FleetRepo,
    build_demo_repo,
    build_fleet_repo,
)

# actionkit: the runner_env fixture; clicommand: a Typer app's click command built once
pytest_plugins = ["tests.testing.actionkit", "tests.testing.clicommand"]

GOLDEN_DIR = Path(__file__).parent / "golden"
HYPOTHESIS_PROFILE = register_profiles()


def pytest_report_header(config: pytest.Config) -> str:
    return f"hypothesis profile: {HYPOTHESIS_PROFILE} (HYPOTHESIS_PROFILE=default|ci|thorough)"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-golden",
        action="store_true",
        default=False,
        help="Rewrite the golden files under tests/golden/ from the current output.",
    )


@pytest.fixture
def fleet(tmp_path: Path) -> Callable[[str], FleetRepo]:
    """Build the named fixture fleet (tests/fleets/<name>) as a git repository."""

    def build(name: str) -> FleetRepo:
        return build_fleet_repo(SCENARIOS_DIR / name, tmp_path / name)

    return build


KEPT_RENDERS = PYCACHE.parent / "planner-renders"


def _planner_digest() -> str:
    """A digest of the planner's sources: what renders depend on besides their key."""
    digest = hashlib.sha256()
    root = Path(__file__).resolve().parent.parent / "planner"
    for path in sorted(root.rglob("*.py")):
        digest.update(f"{path.relative_to(root).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:32]


@pytest.fixture(scope="session")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache folder (`WAVE_PLANNER_CACHE`) for the run's kubectl renders, kept
    between runs of the same planner sources (as compiled bytecode is).

    A render is keyed by content: the git blob ids of every file the unit reads, the load
    restrictor and the renderer's identity (its binary's path, size and mtime). So a unit
    that several tests render (the same fixture fleet at the same revision) is rendered
    once, and a hit is exactly the output kubectl gave for those bytes. The folder is named
    by a digest of the planner's sources, so an edit to the planner (how it renders) starts
    a cold one, and the folders of other sources are removed. A test that needs a cold
    cache, or counts renderer processes, makes its own.
    """
    folder = KEPT_RENDERS / _planner_digest()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        return tmp_path_factory.mktemp("renders")  # a checkout that cannot be written
    for other in KEPT_RENDERS.iterdir():
        if other != folder:
            shutil.rmtree(other, ignore_errors=True)
    return folder


@pytest.fixture
def demo(tmp_path: Path) -> FleetRepo:
    """The bundled example fleet with its sample change."""
    return build_demo_repo(tmp_path / "demo")


@pytest.fixture
def golden(request: pytest.FixtureRequest) -> Callable[[str, str], None]:
    """Compare text with tests/golden/<name>; `--update-golden` rewrites it."""
    update = bool(request.config.getoption("--update-golden"))

    def check(name: str, text: str) -> None:
        path = GOLDEN_DIR / name
        if update:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
            return
        if not path.exists():
            pytest.fail(f"golden file {path} is missing: run pytest --update-golden")
        assert text == path.read_text(), (
            f"{name} differs from its golden file (pytest --update-golden)"
        )

    return check
