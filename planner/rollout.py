"""A rollout in progress: its state, and the pure transitions a release manager drives.

A rollout is a plan being stepped through its waves, one reviewed commit per step. Its state
(`Rollout`, written to `waves/<name>/rollout.yaml` in the fleet repository) records what was
planned (base, head, the policy and inventory digests, every cluster's wave, the ordered
steps) and what happened (each step's state, release time, approver, forced reason, and an
append-only history). This module owns the rules, and nothing else: each transition takes a
state and the time (always from the caller) and returns a new state or a `Refused` that says
why and how long to wait. Rules:

- `advance` releases the next step (the first one not released, in plan order). It refuses
  while the rollout is paused, while the bake time of the most recently released step has
  not passed, when the step's wave needs approval and no approver is named, and after a
  rollback (the rollout is halted). `force` (with a reason, recorded) overrides the bake time
  and the halt, never the pause nor a required approval.
- `rollback` turns released steps (all, or one) into `rolled-back`: their clusters go back
  to the base revision.
- The pinning rule (`pins`): a cluster runs `head` unless the change affects it and its step
  is not released; the emitters apply the same rule to the released step names (`released`).
- `drift` says what changed when the repository no longer matches the plan (inventory or
  policy digests, clusters removed or added, steps recomputed differently); `conflicts`
  finds other active rollouts touching the same clusters.

Times are UTC ISO 8601 strings (`2024-01-02T10:00:00Z`). Pure: no clock, no files.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from planner import yamlsafe
from planner.durations import Duration, duration_seconds
from planner.errors import UserError, validate_model
from planner.target import Target

if TYPE_CHECKING:
    from planner.plan import Plan

SCHEMA_VERSION = 1
StepState = Literal["pending", "released", "rolled-back"]
Action = Literal["start", "advance", "rollback", "pause", "resume", "gate"]
RolloutState = Literal["pending", "in-progress", "paused", "halted", "complete", "rolled-back"]
ACTIVE_STATES: frozenset[str] = frozenset({"pending", "in-progress", "paused", "halted"})

MIN_YEAR, MAX_YEAR = 1970, 9000  # with bakes of at most 10 years, no date overflows
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


Name = Annotated[str, AfterValidator(check_rollout_name)]
Sha = Annotated[str, AfterValidator(_check_sha)]
Time = Annotated[str, AfterValidator(_check_time)]

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


# ------------------------------------------------------------------------------ time


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a time without an offset is UTC. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time like 2024-01-02T10:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            f"{text.strip()[:64]!r} is out of range: times are between {MIN_YEAR} and {MAX_YEAR}"
        )
    return value


def format_time(value: datetime) -> str:
    """UTC, to the second, with a `Z`: `2024-01-02T10:00:00Z`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: int) -> str:
    """`1h 5m`, `42m 10s`, `30s`: how long someone has to wait, rounded up to the second."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])


# ----------------------------------------------------------------------------- model


class Member(BaseModel):
    """Every inventory cluster of one wave (static membership, affected or not)."""

    model_config = _STRICT

    wave: str
    clusters: tuple[str, ...]


class Step(BaseModel):
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
    name: Name
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
    steps: tuple[Step, ...]
    history: tuple[Event, ...] = ()

    def step(self, name: str) -> Step | None:
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


# ------------------------------------------------------------------------ transitions


def start(
    plan: Plan,
    *,
    name: str,
    target: Target,
    inputs: Inputs,
    now: datetime,
    actor: str,
) -> Rollout:
    """A new rollout of a plan: every step pending, nothing released."""
    at = format_time(now)
    steps = tuple(
        Step(
            name=s.name,
            wave=s.wave,
            clusters=s.clusters,
            bake=s.bake,
            approval="required" if s.approval == "required" else "none",
        )
        for s in plan.waves
    )
    detail = (
        f"plan {plan.id}: {len(steps)} step(s), {len(plan.affected)} of "
        f"{plan.summary.clusters_total} clusters affected, target {target}"
    )
    return Rollout(
        name=name,
        id=plan.id,
        base=plan.base,
        head=plan.head,
        target=target,
        inputs=inputs,
        policy_digest=plan.policy.digest,
        inventory_digest=plan.inventory.digest,
        started_at=at,
        membership=tuple(Member(wave=m.wave, clusters=m.clusters) for m in plan.membership),
        steps=steps,
        history=(Event(at=at, actor=actor, action="start", detail=detail),),
    )


def next_step(rollout: Rollout) -> Step | None:
    """The step `advance` would release: the first one not released, in plan order."""
    return next((s for s in rollout.steps if s.state != "released"), None)


def last_released(rollout: Rollout) -> Step | None:
    """The most recently released step still released (its bake gates the next one)."""
    released = [s for s in rollout.steps if s.state == "released" and s.released_at]
    if not released:
        return None
    order = {s.name: i for i, s in enumerate(rollout.steps)}
    return max(released, key=lambda s: (parse_time(s.released_at or ""), order[s.name]))


def _bake(rollout: Rollout, now: datetime) -> Gate | None:
    """The bake gate: the most recently released step has not run its bake time yet."""
    previous = last_released(rollout)
    step = next_step(rollout)
    if previous is None or not previous.bake_seconds or not previous.released_at:
        return None
    opens = parse_time(previous.released_at).timestamp() + previous.bake_seconds
    left = math.ceil(opens - now.timestamp())
    if left <= 0:
        return None
    until = format_time(datetime.fromtimestamp(opens, UTC))
    return Gate(
        "bake",
        step.name if step else None,
        f"step {previous.name} is baking ({previous.bake} from {previous.released_at} "
        f"until {until})",
        seconds_left=left,
        until=until,
    )


def _halt(rollout: Rollout) -> Gate | None:
    halted = [s.name for s in rollout.steps if s.state == "rolled-back"]
    if not halted:
        return None
    step = next_step(rollout)
    return Gate(
        "halted",
        step.name if step else None,
        f"step(s) {', '.join(halted)} rolled back: the rollout is halted "
        "(fix forward with a new rollout, or `advance --force --reason` to release again)",
    )


def _approval(step: Step) -> Gate | None:
    if step.approval != "required":
        return None
    return Gate(
        "approval",
        step.name,
        f"step {step.name} (wave {step.wave}) needs approval: pass --approve --by WHO",
    )


def next_gate(rollout: Rollout, now: datetime) -> Gate:
    """What holds the next step right now (pause, halt, bake, approval), or `open`."""
    step = next_step(rollout)
    if step is None:
        return Gate("done", None, "every step is released")
    if rollout.paused:
        return Gate("paused", step.name, "the rollout is paused (run `rollout resume`)")
    gate = _halt(rollout) or _bake(rollout, now) or _approval(step)
    return gate or Gate("open", step.name, f"step {step.name} can be released")


def advance(
    rollout: Rollout,
    now: datetime,
    actor: str,
    *,
    approve: bool = False,
    by: str | None = None,
    force: bool = False,
    reason: str | None = None,
    failing: str | None = None,
) -> Outcome:
    """Release the next step, or refuse with the gate that holds it and the time left.

    `force` with a `reason` overrides the bake time, a halt after rollback and `failing`
    gates (their verdict, from `planner.gates`); it never overrides a pause or a required
    approval (`approve` with `by` naming the approver).
    """
    step = next_step(rollout)
    if step is None:
        return Refused("nothing to advance: every step is already released", "done")
    if rollout.paused:
        return Refused(
            f"cannot release {step.name}: the rollout is paused (run `rollout resume`)",
            "paused",
            step.name,
        )
    forcing = force and bool(reason)
    overridden: list[str] = []
    failed = Gate("gate", step.name, failing) if failing else None
    for gate in (_halt(rollout), _bake(rollout, now), failed):
        if gate is None:
            continue
        if not forcing:
            hint = "or override with --force --reason TEXT" if gate.kind in ("bake", "gate") else ""
            return Refused(
                f"cannot release {step.name}: {gate.text}",
                gate.kind,
                step.name,
                gate.seconds_left,
                hint,
            )
        overridden.append(gate.kind)
    approver = by if approve and by else None
    if step.approval == "required" and approver is None:
        extra = " (--force does not replace an approval)" if force else ""
        return Refused(
            f"cannot release {step.name}: wave {step.wave} needs approval: "
            f"pass --approve --by WHO{extra}",
            "approval",
            step.name,
        )
    at = format_time(now)
    updated = step.model_copy(
        update={
            "state": "released",
            "released_at": at,
            "approved_by": approver,
            "forced_reason": reason if overridden else None,
            "rolled_back_at": None,
        }
    )
    detail = f"released {len(step.clusters)} cluster(s) of wave {step.wave} to head"
    if approver:
        detail += f"; approved by {approver}"
    if overridden:
        detail += f"; forced past {' and '.join(overridden)}: {reason}"
    event = Event(at=at, actor=actor, action="advance", step=step.name, detail=detail)
    return _replace_steps(rollout, {step.name: updated}, event)


def rollback(rollout: Rollout, now: datetime, actor: str, *, step: str | None = None) -> Outcome:
    """Pin released clusters (every released step, or one) back to the base revision."""
    if step is not None:
        found = rollout.step(step)
        if found is None:
            names = ", ".join(s.name for s in rollout.steps)
            return Refused(f"no step named {step!r} (steps: {names})", "step", step)
        if found.state != "released":
            return Refused(f"step {step} is {found.state}, not released", "step", step)
        targets = [found]
    else:
        targets = [s for s in rollout.steps if s.state == "released"]
        if not targets:
            return Refused("nothing to roll back: no step is released", "step")
    at = format_time(now)
    updates = {
        s.name: s.model_copy(update={"state": "rolled-back", "rolled_back_at": at}) for s in targets
    }
    clusters = sum(len(s.clusters) for s in targets)
    detail = f"pinned {clusters} cluster(s) of {', '.join(updates)} back to base"
    return _replace_steps(
        rollout,
        updates,
        Event(at=at, actor=actor, action="rollback", step=step, detail=detail),
    )


def pause(rollout: Rollout, now: datetime, actor: str) -> Outcome:
    """Stop `advance` until `resume`."""
    if rollout.paused:
        return Refused("the rollout is already paused", "paused")
    return _set_paused(rollout, now, actor, paused=True)


def resume(rollout: Rollout, now: datetime, actor: str) -> Outcome:
    """Let `advance` release steps again."""
    if not rollout.paused:
        return Refused("the rollout is not paused", "paused")
    return _set_paused(rollout, now, actor, paused=False)


def _set_paused(rollout: Rollout, now: datetime, actor: str, *, paused: bool) -> Rollout:
    event = Event(at=format_time(now), actor=actor, action="pause" if paused else "resume")
    return rollout.model_copy(update={"paused": paused, "history": (*rollout.history, event)})


def _replace_steps(rollout: Rollout, updates: dict[str, Step], event: Event) -> Rollout:
    steps = tuple(updates.get(s.name, s) for s in rollout.steps)
    return rollout.model_copy(update={"steps": steps, "history": (*rollout.history, event)})


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


# ------------------------------------------------------------------ drift, conflicts


@dataclass(frozen=True)
class Observed:
    """The repository now: digests, the inventory's clusters, and the plan recomputed."""

    policy_digest: str
    inventory_digest: str
    clusters: frozenset[str]
    steps: Sequence[tuple[str, tuple[str, ...]]]  # (step name, clusters), plan order
    membership: Sequence[tuple[str, tuple[str, ...]]]  # (wave, clusters)
    violations: Sequence[str] = ()


def observe(plan: Plan, clusters: Iterable[str]) -> Observed:
    """What a freshly computed plan says about the repository."""
    return Observed(
        policy_digest=plan.policy.digest,
        inventory_digest=plan.inventory.digest,
        clusters=frozenset(clusters),
        steps=[(s.name, s.clusters) for s in plan.waves],
        membership=[(m.wave, m.clusters) for m in plan.membership],
        violations=[v.message for v in plan.violations],
    )


def drift(rollout: Rollout, now: Observed) -> list[str]:
    """What changed since `start`, in words; empty when the plan still matches."""
    changes: list[str] = []
    if now.inventory_digest != rollout.inventory_digest:
        changes.append(
            f"the inventory changed (digest {rollout.inventory_digest[:12]} -> "
            f"{now.inventory_digest[:12]})"
        )
    members = set(rollout.members())
    for name in sorted(members - now.clusters):
        where = "an affected cluster" if name in rollout.affected() else "a member cluster"
        changes.append(f"cluster {name} ({where}) was removed from the inventory")
    for name in sorted(now.clusters - members):
        changes.append(f"cluster {name} was added to the inventory")
    if now.policy_digest != rollout.policy_digest:
        changes.append(
            f"the policy changed (digest {rollout.policy_digest[:12]} -> {now.policy_digest[:12]})"
        )
    changes.extend(_wave_moves(rollout, now))
    changes.extend(_step_changes(rollout, now))
    changes.extend(f"the plan now has a violation: {v}" for v in now.violations)
    return changes


def _wave_moves(rollout: Rollout, now: Observed) -> list[str]:
    before = {c: m.wave for m in rollout.membership for c in m.clusters}
    after = {c: wave for wave, clusters in now.membership for c in clusters}
    return [
        f"cluster {c} moved from wave {before[c]} to wave {after[c]}"
        for c in sorted(set(before) & set(after))
        if before[c] != after[c]
    ]


def _step_changes(rollout: Rollout, now: Observed) -> list[str]:
    before = {s.name: s.clusters for s in rollout.steps}
    after = dict(now.steps)
    out: list[str] = []
    for name, clusters in before.items():
        if name not in after:
            out.append(f"step {name} is no longer in the plan")
        elif tuple(sorted(after[name])) != tuple(sorted(clusters)):
            added = sorted(set(after[name]) - set(clusters))
            gone = sorted(set(clusters) - set(after[name]))
            parts = ([f"+{', +'.join(added)}"] if added else []) + (
                [f"-{', -'.join(gone)}"] if gone else []
            )
            out.append(f"step {name} now holds different clusters ({'; '.join(parts)})")
    out.extend(f"the plan has a new step {name}" for name in after if name not in before)
    if not out and [n for n, _ in now.steps] != list(before):
        out.append("the steps are in a different order")
    return out


@dataclass(frozen=True)
class Conflict:
    """Another active rollout touching some of the same clusters."""

    rollout: str
    clusters: tuple[str, ...]

    def message(self) -> str:
        shown = ", ".join(self.clusters[:10])
        more = f" (+{len(self.clusters) - 10} more)" if len(self.clusters) > 10 else ""
        return f"rollout {self.rollout} is still active on {shown}{more}"


def conflicts(clusters: Iterable[str], others: Iterable[Rollout]) -> list[Conflict]:
    """Active rollouts whose affected clusters overlap `clusters` (sorted by name)."""
    wanted = set(clusters)
    found = []
    for other in sorted(others, key=lambda r: r.name):
        if not is_active(other):
            continue
        shared = sorted(wanted & other.affected())
        if shared:
            found.append(Conflict(other.name, tuple(shared)))
    return found


# -------------------------------------------------------------------------- the file

STATE_HEADER = "# wave-planner rollout state: change it only with `wave-planner rollout ...`\n"


def dump_state(state: Rollout) -> bytes:
    """`rollout.yaml`: deterministic block YAML (same state, same bytes)."""
    return (STATE_HEADER + yamlsafe.dump(state.model_dump(mode="json"))).encode()


def load_state(data: bytes, *, source: str) -> Rollout:
    """Parse `rollout.yaml`, reporting every problem as a UserError naming the file."""
    try:
        doc = yamlsafe.load_one(data, strict=True)
    except yamlsafe.YamlError as exc:
        raise UserError.single(str(exc), file=source) from None
    if not isinstance(doc, dict):
        raise UserError.single("expected a mapping (a rollout state)", file=source)
    return validate_model(Rollout, doc, file=source)


def commit_message(state: Rollout) -> str:
    """A descriptive commit message for the last thing that happened to the rollout."""
    event = state.history[-1]
    step = state.step(event.step) if event.step else None
    if event.action == "advance" and step is not None:
        subject = (
            f"rollout {state.name}: release {step.name} ({_count(step.clusters)}) "
            f"to {state.head[:12]}"
        )
    elif event.action == "rollback":
        back = [s.name for s in state.steps if s.rolled_back_at == event.at]
        subject = f"rollout {state.name}: roll back {', '.join(back)} to {state.base[:12]}"
    elif event.action == "gate":
        verdict = event.detail.split(": ")
        what = "passed" if verdict[0] == "passed" else ": ".join(verdict[:2])
        subject = f"rollout {state.name}: gates of {event.step} {what}"
    elif event.action == "start":
        subject = f"rollout {state.name}: start ({len(state.steps)} steps, nothing released)"
    else:
        subject = f"rollout {state.name}: {event.action}"
    lines = [subject, "", event.detail] if event.detail else [subject, ""]
    if step is not None and event.action == "advance":
        lines.append(f"Clusters: {', '.join(step.clusters)}")
        if step.approved_by:
            lines.append(f"Approved-by: {step.approved_by}")
        if step.forced_reason:
            lines.append(f"Forced: {step.forced_reason}")
    lines += [
        f"Rollout: {state.name} (plan {state.id}, {state.base[:12]}..{state.head[:12]})",
        f"Actor: {event.actor}",
        f"At: {event.at}",
    ]
    return "\n".join(line for i, line in enumerate(lines) if line or i == 1) + "\n"


def _count(clusters: Sequence[str]) -> str:
    return f"{len(clusters)} cluster" + ("" if len(clusters) == 1 else "s")


@dataclass(frozen=True)
class RolloutView:
    """A rollout as a command reports it: the state, the gate now, drift, what was written."""

    state: Rollout
    gate: Gate
    now: datetime
    drift: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    commit: str | None = None
    notes: tuple[str, ...] = ()  # interrupted writes completed or pending, a stale lock
