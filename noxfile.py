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
def docs(session: nox.Session) -> None:
    """Regenerate docs/cli.md and docs/schemas/ from real runs on the example fleet."""
    session.install("-e", ".")
    session.run("python", "docs/gen_cli.py")


# ----------------------------------------------------------------------------- fuzzing


@nox.session(python=PYTHON)
def fuzz(session: nox.Session) -> None:
    """Fuzz the YAML, kustomization, inventory and policy loaders (hypothesis), bounded.

    FUZZ_EXAMPLES examples per target (default 2000, about a minute in all) and a per-example
    deadline (FUZZ_DEADLINE_MS, default 2000); reproduce a run with
    `nox -s fuzz -- --hypothesis-seed=N`.
    """
    import os

    session.install("-e", ".[test]")
    session.run(
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/fuzz/fuzz_loaders.py",
        *session.posargs,
        env={
            "FUZZ_EXAMPLES": os.environ.get("FUZZ_EXAMPLES", "2000"),
            "FUZZ_DEADLINE_MS": os.environ.get("FUZZ_DEADLINE_MS", "2000"),
        },
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Plan vs the parse floor at N=100, 1,000, 10,000, the release commands (start, status,
    advance, emit) beside them, and emit alone at 5,000; tables + benchmarks/results/*.json.

    `nox -s bench -- --sizes 100,1000 --runs 3` narrows it (`--sizes 1000,10000,50000` for
    growth, `--emit-sizes ''` skips the emit rows); kubectl on PATH adds the naive baseline
    and precise mode.
    """
    session.install("-e", ".")
    session.run("python", "benchmarks/bench.py", *session.posargs)
    # precise mode at 1,000 and 10,000: one region cold and warm, a pruned base reformat,
    # the base change reaching every cluster (run at 1,000, extrapolated at 10,000)
    session.run("python", "benchmarks/precise_bench.py")
