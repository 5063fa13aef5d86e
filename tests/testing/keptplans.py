"""Large in-memory plans kept between runs, as the fixture fleet repositories are
(tests/testing/fleetrepo.py).

The PR comment's 5,000-cluster tests render `memfleet.memory_plan(5000)`: planning it costs
about 2.5 CPU-s, reading it back from JSON a fifth of that. `memory_plan(n)` keeps the
plan's JSON in pytest's cache folder (`.pytest_cache/d/plans`, ignored by git, emptied by
`pytest --cache-clear`) under a key made of everything the plan depends on: the planner's
sources, the helpers that lay out the fleet and its policy, and the versions of Python,
pydantic and PyYAML. A stale entry cannot be read: any change to those plans again (and
keeps that plan instead). The plan read back equals the plan made (the tests check both
the same way).
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
from pathlib import Path

import pydantic
import yaml

from planner.plan import Plan
from tests.testing import memfleet, policies
from tests.testing.paths import ROOT

KEPT = ROOT / ".pytest_cache" / "d" / "plans"


def _key(n: int) -> str:
    digest = hashlib.sha256(
        f"{n}\0{sys.version}\0{pydantic.VERSION}\0{yaml.__version__}\0".encode()
    )
    sources = sorted((ROOT / "planner").rglob("*.py"))
    for path in [*sources, Path(memfleet.__file__), Path(policies.__file__), Path(__file__)]:
        digest.update(f"{path.relative_to(ROOT).as_posix()}\0".encode() + path.read_bytes())
    return digest.hexdigest()[:32]


def memory_plan(n: int) -> Plan:
    """`memfleet.memory_plan(n)`, planned once and kept until what it depends on changes."""
    path = KEPT / f"memory-{n}-{_key(n)}.json"
    if path.is_file():
        return Plan.model_validate_json(path.read_bytes())
    plan = memfleet.memory_plan(n)
    try:
        KEPT.mkdir(parents=True, exist_ok=True)
        for stale in KEPT.glob(f"memory-{n}-*.json"):
            stale.unlink(missing_ok=True)
        fd, work = tempfile.mkstemp(dir=KEPT, suffix=".tmp")
        with os.fdopen(fd, "wb") as out:
            out.write(plan.model_dump_json().encode())
        os.replace(work, path)  # whole or not at all
    except OSError:
        pass  # a checkout that cannot be written: plan on every run, as before
    return plan
