"""`python -m planner`: the same command line as `wave-planner`."""

from planner.cli import run

if __name__ == "__main__":  # pragma: no cover - exercised through the console script
    run()
