"""The rollout state file's models (`Rollout`, `StepRecord`, ...), their validators, the
outcomes of a transition (`Refused`, `Gate`), and what a state says at a glance (`state_of`,
`is_active`, `released`, `pins`)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from planner.durations import Duration, duration_seconds
from planner.release.times import format_duration, parse_time
from planner.target import Target

SCHEMA_VERSION = 1
StepState = Literal["pending", "released", "rolled-back"]
Action = Literal["start", "advance", "rollback", "pause", "resume", "gate"]
RolloutState = Literal["pending", "in-progress", "paused", "halted", "complete", "rolled-back"]
ACTIVE_STATES: frozenset[str] = frozenset({"pending", "in-progress", "paused", "halted"})

_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SHA = re.compile(r"^[0-9a-f]{40}$")


def check_rollout_name(value: str) -> str:
    """A rollout name is a folder under `waves/` and a label value: a DNS label."""
    if len(value) > 63 or not _NAME.match(value):
        raise ValueError(
            f"{value!r} is not a valid rollout name: use lowercase letters, digits and '-' "
            "(at most 63, starting and ending with a letter or digit)"
        )
    return value


def _check_sha(value: str) -> str:
    if not _SHA.match(value):
        raise ValueError(f"{value!r} is not a full 40-character commit SHA")
    return value


def _check_time(value: str) -> str:
    parse_time(value)
    return value


RolloutName = Annotated[str, AfterValidator(check_rollout_name)]
Sha = Annotated[str, AfterValidator(_check_sha)]
Time = Annotated[str, AfterValidator(_check_time)]

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


class Member(BaseModel):
    """Every inventory cluster of one wave (static membership, affected or not)."""

    model_config = _STRICT

    wave: str
    clusters: tuple[str, ...]


class StepRecord(BaseModel):
    """One step of the rollout and what happened to it."""

    model_config = _STRICT

    name: str
    wave: str
    clusters: tuple[str, ...]
    bake: Duration | None = None
    approval: Literal["required", "none"] = "none"
    state: StepState = "pending"
    released_at: Time | None = None
    approved_by: str | None = None
    forced_reason: str | None = None
    rolled_back_at: Time | None = None

    @property
    def bake_seconds(self) -> int:
        return duration_seconds(self.bake) if self.bake else 0


class Event(BaseModel):
    """One line of the append-only history: who did what, when."""

    model_config = _STRICT

    at: Time
    actor: str
    action: Action
    step: str | None = None
    detail: str = ""


class Inputs(BaseModel):
    """Where the plan's inventory and policy live, relative to the fleet repository."""

    model_config = _STRICT

    inventory: str = Field(description="The inventory (file or folder) in the repository.")
    policy: str | None = Field(
        default=None, description="The policy file in the repository; null: the built-in one."
    )


class Rollout(BaseModel):
    """The state file `waves/<name>/rollout.yaml`."""

    model_config = _STRICT

    schema_version: Literal[1] = 1
    name: RolloutName
    id: str = Field(description="The plan id (base, head, policy and inventory digests).")
    base: Sha
    head: Sha
    target: Target = Field(strict=False)  # "argocd" or "flux", as the Literal it replaced
    inputs: Inputs
    policy_digest: str
    inventory_digest: str
    started_at: Time
    paused: bool = False
    membership: tuple[Member, ...]
    steps: tuple[StepRecord, ...]
    history: tuple[Event, ...] = ()

    def step(self, name: str) -> StepRecord | None:
        return next((s for s in self.steps if s.name == name), None)

    def affected(self) -> frozenset[str]:
        return frozenset(c for s in self.steps for c in s.clusters)

    def members(self) -> list[str]:
        return sorted(c for m in self.membership for c in m.clusters)


@dataclass(frozen=True)
class Refused:
    """A transition the rules refuse: why, which gate, and how long until it opens."""

    reason: str
    gate: str
    step: str | None = None
    seconds_left: int | None = None
    hint: str = ""

    def message(self) -> str:
        text = self.reason
        if self.seconds_left is not None:
            text += f"; time left: {format_duration(self.seconds_left)}"
        return f"{text} ({self.hint})" if self.hint else text


Outcome = Rollout | Refused


@dataclass(frozen=True)
class Gate:
    """What holds the next step (`open` when nothing does)."""

    kind: Literal["open", "done", "paused", "halted", "bake", "approval", "gate"]
    step: str | None
    text: str
    seconds_left: int | None = None
    until: str | None = None


# ------------------------------------------------------------------------- derived


def state_of(rollout: Rollout) -> RolloutState:
    """One word for the whole rollout.

    `halted`: some step was rolled back while others are still released; `rolled-back`:
    nothing is released any more after a rollback.
    """
    states = {s.state for s in rollout.steps}
    if "rolled-back" in states:
        return "halted" if "released" in states else "rolled-back"
    if rollout.paused:
        return "paused"
    if states <= {"released"}:
        return "complete"
    return "in-progress" if "released" in states else "pending"


def is_active(rollout: Rollout) -> bool:
    """An active rollout holds its clusters: no other rollout may touch them.

    A complete rollout, and one rolled back entirely, hold nothing any more.
    """
    return state_of(rollout) in ACTIVE_STATES


def released(rollout: Rollout) -> frozenset[str]:
    """The released step names: what the emitters pin to head."""
    return frozenset(s.name for s in rollout.steps if s.state == "released")


def pins(rollout: Rollout) -> dict[str, str]:
    """The revision every member cluster must run (the revision-pinning rule)."""
    held = {c: rollout.base for s in rollout.steps if s.state != "released" for c in s.clusters}
    return {c: held.get(c, rollout.head) for c in rollout.members()}
