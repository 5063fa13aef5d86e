"""Hypothesis profiles: how many examples a property test runs.

Each property test states its count for a thorough run, `examples(n)`; the profile in use
scales it (never below MINIMUM), and sets hypothesis' own `max_examples` for the tests that
state no count (100 in a thorough run):

- `default` (the README's test command on a workstation): a third of each count, random
  examples, the example database in `.hypothesis/` replaying past failures first;
- `ci` (chosen when `CI` is set and not false, as CI services set it): half of each count, derandomized (the same examples on every run, so a red build
  reproduces), no database, failing examples printed as a reproduction blob;
- `thorough` (`HYPOTHESIS_PROFILE=thorough`): every count as written, random examples.

`HYPOTHESIS_PROFILE` names the profile explicitly; the conftest loads it before any test
module is imported, so `examples()` in a decorator sees it.
"""

from __future__ import annotations

import os

from hypothesis import settings

MINIMUM = 10
CI_OFF = ("", "0", "false", "no")
SCALE = {"default": 1 / 3, "ci": 1 / 2, "thorough": 1.0}


def profile_name() -> str:
    """The profile this run uses: HYPOTHESIS_PROFILE, else `ci` on a CI service, else default."""
    on_ci = os.environ.get("CI", "").strip().lower() not in CI_OFF
    name = os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if on_ci else "default")
    if name not in SCALE:
        raise ValueError(f"HYPOTHESIS_PROFILE={name!r}: expected one of {', '.join(SCALE)}")
    return name


def examples(thorough: int) -> int:
    """The number of examples to run for a test that runs `thorough` in a thorough run."""
    return max(MINIMUM, round(thorough * SCALE[profile_name()]))


def register_profiles() -> str:
    """Register the three profiles, load the one this run uses and return its name."""
    builtin_ci = settings.get_profile("ci")  # hypothesis' own: derandomized, no database
    for name, scale in SCALE.items():
        count = max(MINIMUM, round(100 * scale))
        parent = builtin_ci if name == "ci" else None
        settings.register_profile(name, parent=parent, max_examples=count)
    name = profile_name()
    settings.load_profile(name)
    return name
