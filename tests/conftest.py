"""Shared fixtures: real git repositories built from the named fixture fleets; the
hypothesis profile of the run (tests/testing/examples.py)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.testing.examples import register_profiles
from tests.testing.fleetrepo import SCENARIOS_DIR, FleetRepo, build_demo_repo, build_fleet_repo

# actionkit: the runner_env fixture; clicommand: a Typer app's click command built once
pytest_plugins = ["tests.testing.actionkit", "tests.testing.clicommand"]

GOLDEN_DIR = Path(__file__).parent / "golden"
HYPOTHESIS_PROFILE = register_profiles()


def pytest_configure(config: pytest.Config) -> None:
    """Child Pythons (`python -m planner` in a subprocess) share compiled bytecode.

    Where the environment forbids writing bytecode (PYTHONDONTWRITEBYTECODE), every child
    would compile the planner again; a cache folder of this run, outside the source tree,
    lets the first child compile and the others load.
    """
    if os.environ.get("PYTHONDONTWRITEBYTECODE") and not os.environ.get("PYTHONPYCACHEPREFIX"):
        folder = tempfile.mkdtemp(prefix="pycache-")
        del os.environ["PYTHONDONTWRITEBYTECODE"]
        os.environ["PYTHONPYCACHEPREFIX"] = folder
        config.add_cleanup(lambda: shutil.rmtree(folder, ignore_errors=True))


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
