"""The pure transitions of a rollout (start, advance, rollback, pause, resume) and the gates
that hold its next step (pause, halt after a rollback, bake time, approval)."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from planner.release.model import (
    Event,
    Gate,
    Inputs,
    Member,
    Outcome,
    Refused,
    Rollout,
    StepRecord,
)
from planner.release.times import format_time, parse_time
from planner.target import Target

if TYPE_CHECKING:
    from planner.plan import Plan


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
        StepRecord(
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


def next_step(rollout: Rollout) -> StepRecord | None:
    """The step `advance` would release: the first one not released, in plan order."""
    return next((s for s in rollout.steps if s.state != "released"), None)


def last_released(rollout: Rollout) -> StepRecord | None:
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


def _approval(step: StepRecord) -> Gate | None:
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


def _replace_steps(rollout: Rollout, updates: dict[str, StepRecord], event: Event) -> Rollout:
    steps = tuple(updates.get(s.name, s) for s in rollout.steps)
    return rollout.model_copy(update={"steps": steps, "history": (*rollout.history, event)})
