"""Advancing on evidence: gates, signed approvals, `--if-ready`, `watch` and notifications.

`rollout advance` releases the next step once the pure rules agree (pause, halt, bake:
`planner.release`), the gates of the step released before it pass (evaluated here, through
`planner.adapters.probes`, after its bake) and its approval is there (a name, or a signed
commit or tag verified by `planner.adapters.gitrepo.signatures`). A failing gate is recorded in the
history (and, with `on_failure: rollback`, the failing step is pinned back to base) before
`advance` refuses; `--force --reason` releases anyway and says so. `--if-ready` never
refuses for a gate, an approval or the time: it exits 0 saying what it waits for. `watch`
repeats `--if-ready` in the foreground until an approval, a failing gate or the end; its
clock and its sleep are parameters so that it is testable without waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from planner import approvals, gates
from planner.api import notifying
from planner.errors import Refusal, UserError
from planner.release import model, times, transitions
from planner.release.model import Event, Gate, Refused, Rollout, StepRecord
from planner.release.view import AdvanceResult, RolloutView

if TYPE_CHECKING:
    from planner.api.rolloutcheck import Current
    from planner.api.rollouts import RolloutAdvanceRequest
    from planner.api.rolloutwrite import Finish
    from planner.policy import RolloutPolicy

__all__ = ["AdvanceResult", "Evaluator"]

Evaluator = Callable[[Sequence[gates.GateSpec], gates.GateSubject], gates.Verdict]
WAIT_KINDS = frozenset({"bake", "approval", "gate", "paused", "halted", "done"})


def _default_evaluator(specs: Sequence[gates.GateSpec], target: gates.GateSubject) -> gates.Verdict:
    from planner.adapters import probes

    return probes.evaluate(specs, target)


def step_target(current: Current, step: StepRecord) -> gates.GateSubject:
    """A step as its gates see it: names, wave and every cluster's labels."""
    clusters = current.inventory.by_name()
    labels = {c: dict(clusters[c].labels) for c in step.clusters if c in clusters}
    return gates.GateSubject(step.name, step.wave, step.clusters, labels)


def _gated_step(state: Rollout, policy: RolloutPolicy) -> StepRecord | None:
    """The released step whose gates hold the next one (the most recently released)."""
    previous = transitions.last_released(state)
    if previous is None:
        return None
    try:
        wave = policy.wave(previous.wave)
    except KeyError:
        return None
    return previous if wave.gates else None


def _already_recorded(state: Rollout, step: str, verdict: gates.Verdict) -> bool:
    last = state.history[-1] if state.history else None
    return (
        last is not None
        and last.action == "gate"
        and last.step == step
        and last.detail.startswith(_failed_prefix(verdict))
    )


def _failed_prefix(verdict: gates.Verdict) -> str:
    return f"failed: {', '.join(verdict.failing_gates())}"


def _record(state: Rollout, now: datetime, actor: str, step: str, detail: str) -> Rollout:
    event = Event(at=times.format_time(now), actor=actor, action="gate", step=step, detail=detail)
    return state.model_copy(update={"history": (*state.history, event)})


@dataclass(frozen=True)
class Attempt:
    """One `advance` being decided: where, on what, when, by whom, and how its step is
    written (`finish`); `ask` is the request, its `by` and `reason` checked and `approve`
    true when an approval revision is given."""

    root: Path
    current: Current
    now: datetime
    actor: str
    ask: RolloutAdvanceRequest
    finish: Finish


def attempt(state: Rollout, at: Attempt) -> AdvanceResult:
    """One `advance`: release the next step, wait (`if_ready`), or refuse."""
    ask, now = at.ask, at.now
    policy = at.current.policy
    forcing = ask.force and bool(ask.reason)
    step = transitions.next_step(state)
    gate = transitions.next_gate(state, now)
    if gate.kind == "done" and ask.if_ready:
        return _final_gates(state, at, gate)
    if gate.kind in ("done", "paused") or (gate.kind in ("halted", "bake") and not forcing):
        return _hold(state, at, gate)
    assert step is not None
    # The gates of the step released before this one, after its bake.
    verdict: gates.Verdict | None = None
    gated = _gated_step(state, policy)
    if gated is not None:
        specs = policy.wave(gated.wave).gates
        verdict = (ask.evaluate or _default_evaluator)(specs, step_target(at.current, gated))
        if not verdict.passed:
            return _gate_failed(
                state, at, gated, verdict, forcing=forcing,
                release=lambda s: attempt_release(s, at, step, verdict),
            )  # fmt: skip
    return attempt_release(state, at, step, verdict)


def attempt_release(
    state: Rollout, at: Attempt, step: StepRecord, verdict: gates.Verdict | None
) -> AdvanceResult:
    """Check the step's approval, then release it (gates passed, or forced past)."""

    root, current, now, actor, ask = at.root, at.current, at.now, at.actor, at.ask
    approve, by, approval_ref = ask.approve, ask.by, ask.approval
    policy = current.policy
    approver = by if approve else None
    if step.approval == "required":
        try:
            wave = policy.wave(step.wave)
        except KeyError:
            wave = None
        signers = wave.signers if wave is not None else None
        if signers:
            approver = _signed_approver(root, state, step, signers, approve, by, approval_ref)
        elif approval_ref:
            raise UserError.single(
                f"wave {step.wave} takes a named approval, not a signed one",
                key="--approval",
                fix="use --approve --by WHO, or set `approval: {required: true, signers: FILE}`",
            )
        if approver is None:
            text = (
                f"step {step.name} (wave {step.wave}) needs a signed approval: a commit or tag "
                f"signed by a key in {signers} whose message has the line "
                f"{approvals.trailer(state.name, step.wave)!r} (--approval REV, or the tag "
                f"{approvals.tag_name(state.name, step.wave)})"
                if signers
                else f"step {step.name} (wave {step.wave}) needs approval: pass --approve --by WHO"
            )
            return _hold(state, at, Gate("approval", step.name, text))
    failing = verdict.refusal() if verdict is not None and not verdict.passed else None
    before = state
    if verdict is not None and verdict.passed:
        before = _record(state, now, actor, verdict.step, f"passed: {verdict.summary()}")
    outcome = transitions.advance(
        before, now, actor, approve=approver is not None, by=approver, force=ask.force,
        reason=ask.reason, failing=failing,
    )  # fmt: skip
    if isinstance(outcome, Refused):
        if ask.if_ready:
            waiting = Gate(outcome.gate, outcome.step, outcome.reason)  # type: ignore[arg-type]
            return AdvanceResult(RolloutView(state, waiting, now), waiting=waiting, verdict=verdict)
        notifying.refusal(current, state, step, now, actor, outcome.message())
        raise Refusal(outcome.message())
    new = outcome
    view = at.finish(root, new, now, model.released(new), ask.commit)
    events = [
        notifying.event(current, new, "release", step.name, step.clusters, actor, view.commit)
    ]
    if model.state_of(new) == "complete":
        text = f"every step released: {len(new.affected())} cluster(s) run {new.head[:12]}"
        events.append(
            notifying.event(current, new, "completion", None, (), actor, view.commit, text)
        )
    warnings = notifying.send(policy, events)
    return AdvanceResult(view, released=step.name, verdict=verdict, warnings=warnings)


def _signed_approver(
    root: Path,
    state: Rollout,
    step: StepRecord,
    signers: str,
    approve: bool,
    by: str | None,
    approval_ref: str | None,
) -> str | None:
    from planner.adapters.gitrepo import signatures as signing

    if approve and by and not approval_ref:
        raise Refusal(
            f"wave {step.wave} needs a signed approval; a free-text --by {by} is refused "
            f"(sign a commit or tag whose message has the line "
            f"{approvals.trailer(state.name, step.wave)!r} and pass --approval REV)"
        )
    ref = approval_ref
    if ref is None:
        tag = approvals.tag_name(state.name, step.wave)
        if not signing.ref_exists(root, f"refs/tags/{tag}"):
            return None
        ref = f"refs/tags/{tag}"
    allowed = signing.signers_at(root, state.base, signers)
    signature = signing.verify(root, ref, allowed)
    why = approvals.check(signature, state.name, step.wave)
    if why is not None:
        raise Refusal(f"approval refused: {why}")
    return f"{signature.principal} (signed {signature.sha[:12]})"


def _gate_failed(
    state: Rollout,
    at: Attempt,
    gated: StepRecord,
    verdict: gates.Verdict,
    *,
    forcing: bool,
    release: Callable[[Rollout], AdvanceResult],
) -> AdvanceResult:
    """Record a failed verdict; roll back (`on_failure: rollback`); refuse, wait or force."""

    current, now, actor, if_ready = at.current, at.now, at.actor, at.ask.if_ready
    policy = current.policy
    wave = policy.wave(gated.wave)
    detail = f"{_failed_prefix(verdict)}: {verdict.summary()}"
    if forcing:
        return release(_record(state, now, actor, gated.name, detail))
    repeat = if_ready and _already_recorded(state, gated.name, verdict)
    following = transitions.next_step(state)
    waiting = Gate("gate", following.name if following else None, verdict.refusal())
    if repeat:
        return AdvanceResult(RolloutView(state, waiting, now), waiting=waiting, verdict=verdict)
    new = _record(state, now, actor, gated.name, detail)
    failing = _failing(verdict, gated)
    events = [
        notifying.event(
            current, new, "gate-failure", gated.name, failing, actor, None, verdict.refusal()
        )
    ]
    out: frozenset[str] | None = None
    if wave.on_failure == "rollback":
        rolled = transitions.rollback(new, now, actor, step=gated.name)
        if isinstance(rolled, Rollout):
            last = rolled.history[-1]
            why = f"{last.detail}: gate(s) {', '.join(verdict.failing_gates())} failed"
            rolled = rolled.model_copy(
                update={"history": (*rolled.history[:-1], last.model_copy(update={"detail": why}))}
            )
            new = rolled
            out = model.released(new)
            events.append(
                notifying.event(
                    current, new, "rollback", gated.name, gated.clusters, actor, None, why
                )
            )
    view = at.finish(at.root, new, now, out, at.ask.commit)
    warnings = notifying.send(policy, events)
    message = verdict.refusal()
    if wave.on_failure == "rollback":
        message += f"; step {gated.name} was rolled back (on_failure: rollback)"
    if if_ready:
        waiting = Gate("gate", waiting.step, message)
        return AdvanceResult(view, waiting=waiting, verdict=verdict, warnings=warnings)
    raise Refusal(
        f"cannot release {waiting.step}: {message} (or override with --force --reason TEXT)"
    )


def _final_gates(state: Rollout, at: Attempt, done: Gate) -> AdvanceResult:
    """Every step is out: the last one's gates still run once, after its bake (`if_ready`)."""

    current, now = at.current, at.now
    last = _gated_step(state, current.policy)
    history = state.history
    if last is None or (
        history and history[-1].action == "gate" and history[-1].step == last.name
        and history[-1].detail.startswith("passed: ")
    ):  # fmt: skip
        return AdvanceResult(RolloutView(state, done, now))
    opens = times.parse_time(last.released_at or state.started_at).timestamp() + last.bake_seconds
    left = int(opens - now.timestamp() + 0.999)
    if left > 0:
        baking = Gate(
            "bake", None, f"the last step {last.name} is baking before its gates are checked",
            seconds_left=left,
        )  # fmt: skip
        return AdvanceResult(RolloutView(state, baking, now), waiting=baking)
    specs = current.policy.wave(last.wave).gates
    verdict = (at.ask.evaluate or _default_evaluator)(specs, step_target(current, last))
    if not verdict.passed:
        return _gate_failed(
            state, at, last, verdict, forcing=False,
            release=lambda s: AdvanceResult(RolloutView(s, done, now)),
        )  # fmt: skip
    new = _record(state, now, at.actor, last.name, f"passed: {verdict.summary()}")
    view = at.finish(at.root, new, now, None, at.ask.commit)
    return AdvanceResult(view, verdict=verdict)


def _failing(verdict: gates.Verdict, step: StepRecord) -> tuple[str, ...]:
    return tuple(verdict.failing_clusters()) or step.clusters


def _hold(state: Rollout, at: Attempt, gate: Gate) -> AdvanceResult:
    """Nothing to release: wait (`if_ready`), or refuse like the pure rules do."""
    ask, now = at.ask, at.now
    if ask.if_ready:
        return AdvanceResult(RolloutView(state, gate, now), waiting=gate)
    if gate.kind == "approval":
        message = f"cannot release {gate.step}: {gate.text}"
        if ask.force:
            message += " (--force does not replace an approval)"
    else:
        outcome = transitions.advance(
            state, now, at.actor, approve=ask.approve, by=ask.by, force=ask.force,
            reason=ask.reason,
        )  # fmt: skip
        message = outcome.message() if isinstance(outcome, Refused) else gate.text
    step = state.step(gate.step) if gate.step else None
    if step is not None and gate.kind != "done":
        notifying.refusal(at.current, state, step, now, at.actor, message)
    raise Refusal(message)
