"""Durations as policies and rollout states write them: `30m`, `2h`, `1d`, `1h30m`. Pure.

Kept apart from `planner.policy` so reading a rollout's state does not load the planner.
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator

_DURATION = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")

# Longer bakes are refused: date arithmetic on them could overflow.
MAX_DURATION = 3650 * 86400


def duration_seconds(text: str) -> int:
    """`1d2h30m15s` (any subset, in that order) to seconds."""
    match = _DURATION.match(text.strip())
    if not text.strip() or not match:
        raise ValueError(f"{text!r} is not a duration like 30m, 2h, 1d or 1h30m")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in match.groups())
    total = ((days * 24 + hours) * 60 + minutes) * 60 + seconds
    if total > MAX_DURATION:
        raise ValueError(f"{text.strip()[:64]!r} is longer than the limit of 3650d (10 years)")
    return total


def _check_duration(text: str) -> str:
    duration_seconds(text)
    return text


# The one duration type of the policy, the gates and the rollout state: a string such as
# `1h30m`, validated as `duration_seconds` reads it.
Duration = Annotated[str, AfterValidator(_check_duration)]
