"""The report tests' fixture fleet plans, planned once per test run and shared.

The golden tests of the PR comment, the terminal table and the terminal width all render
the same few plans (`reportplans.GOLDEN_CASES` and the incident fleet): `planned` builds
each (fleet, emergency) pair and plans it once per run, as `reportplans.fixture_plan`
does, then hands every test the same plan. A plan is a frozen model and names no path of
the repository it was planned from, so a shared one is the plan each test would make;
read it, never change it.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from planner.plan import Plan
from tests.testing.reportplans import fixture_plan

_PLANNED: dict[tuple[str, str | None], Plan] = {}


def planned(name: str, emergency: str | None = None) -> Plan:
    """`fixture_plan(name, ..., emergency)`, computed once per run."""
    key = (name, emergency)
    if key not in _PLANNED:
        with tempfile.TemporaryDirectory(prefix="planned-") as folder:
            _PLANNED[key] = fixture_plan(name, Path(folder), emergency)
    return _PLANNED[key]
