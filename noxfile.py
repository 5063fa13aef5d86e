"""Developer tasks: `nox -s tests lint typecheck` (and `bench`, `fuzz`, `docs`)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typecheck"]
nox.options.reuse_existing_virtualenvs = True

PYTHON = "3.11"


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Run the test suite (kubectl-backed tests skip with a reason where kubectl is absent)."""
    session.install("-e", ".[test]")
    session.run("pytest", *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """ruff lint and format check."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
    session.run("ruff", "format", "--check", ".")


@nox.session(python=PYTHON)
def typecheck(session: nox.Session) -> None:
    """mypy --strict over the package, the tests and the benchmarks."""
    session.install("-e", ".[dev]")
    session.run("mypy", "--strict", "planner", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Plan vs the parse floor at N=100, 1,000, 10,000; table + benchmarks/results/*.json.

    `nox -s bench -- --sizes 100,1000 --runs 3` narrows it; kubectl on PATH adds the naive
    baseline and precise mode.
    """
    session.install("-e", ".")
    session.run("python", "benchmarks/bench.py", *session.posargs)
