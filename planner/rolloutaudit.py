"""Tamper evidence for a rollout's state: what `rollout.yaml` may claim, checked, not trusted.

`rollout.yaml` is a file in a repository anyone with write access can edit. Nothing in it
is believed on its word; each command checks, before deciding anything:

- `audit`: the state agrees with its own history. The history starts with `start` at
  `started_at`, its times never go backwards, every actor and reason is one printable line,
  and replaying the history (advance, rollback, pause, resume) gives exactly each step's
  state, release time, roll-back time and the pause flag; a released step that needs
  approval names its approver.
- `gate_problems`: each step's gates (wave, bake, approval) and clusters are the ones the
  policy the rollout was started with gives (the caller re-derives the plan with that policy,
  whose digest is checked against the recorded one).
- `immutable_problems`: what `start` recorded (base, head, digests, steps and their gates,
  the start event) is unchanged since the start commit, and the history only grew since the
  last commit.
- `check_clock`: the clock is not earlier than the last thing that happened.

Each problem names the exact field (`steps[3].approval`, `history[2].at`). Pure: no files.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from planner.errors import Problem
from planner.release.model import Rollout, StepRecord
from planner.release.times import format_time, parse_time

MAX_ACTOR = 200
MAX_REASON = 1000
_FIX = "restore the file with git (`git checkout -- <file>`); change it only with `rollout ...`"


def check_line(value: str, *, what: str, limit: int) -> str:
    """One printable line (no control characters), at most `limit` characters; stripped."""
    text = value.strip()
    if not text:
        raise ValueError(f"{what} is empty")
    if len(text) > limit:
        raise ValueError(f"{what} is longer than {limit} characters")
    bad = sorted({f"U+{ord(c):04X}" for c in text if not c.isprintable()})
    if bad:
        raise ValueError(
            f"{what} must be one printable line (it contains {', '.join(bad[:5])}: a line "
            "break could forge commit trailers)"
        )
    return text


def check_actor(value: str) -> str:
    return check_line(value, what="an actor name", limit=MAX_ACTOR)


def _problem(source: str, key: str, message: str) -> Problem:
    return Problem(message, file=source, key=key, fix=_FIX)


def audit(state: Rollout, *, source: str) -> list[Problem]:
    """Where the state disagrees with itself or its history (empty: consistent)."""
    problems: list[Problem] = []
    add = problems.append
    history = state.history
    if not history or history[0].action != "start":
        add(_problem(source, "history[0].action", "the history must begin with `start`"))
        return problems
    if history[0].at != state.started_at:
        add(
            _problem(
                source,
                "started_at",
                f"says {state.started_at} but the start event says {history[0].at}",
            )
        )
    names = [s.name for s in state.steps]
    for i, name in enumerate(names):
        if names.index(name) != i:
            add(_problem(source, f"steps[{i}].name", f"step {name!r} appears twice"))
    previous: datetime | None = None
    for i, event in enumerate(history):
        when = parse_time(event.at)
        if previous is not None and when < previous:
            add(
                _problem(
                    source,
                    f"history[{i}].at",
                    f"{event.at} is earlier than the event "
                    f"before it ({format_time(previous)}): times never go backwards",
                )
            )
        previous = max(previous, when) if previous else when
        for key, value, limit in (
            ("actor", event.actor, MAX_ACTOR),
            # details are written by the tool (gate evidence may span lines); actors are not
            ("detail", (event.detail or "-").replace("\n", " "), 100 * MAX_REASON),
        ):
            try:
                check_line(value, what=key, limit=limit)
            except ValueError as exc:
                add(_problem(source, f"history[{i}].{key}", str(exc)))
        if i and event.action == "start":
            add(_problem(source, f"history[{i}].action", "a rollout starts only once"))
    problems.extend(_replay(state, source))
    for i, step in enumerate(state.steps):
        for key in ("approved_by", "forced_reason"):
            value = getattr(step, key)
            if value is not None:
                try:
                    check_line(value, what=key, limit=MAX_REASON)
                except ValueError as exc:
                    add(_problem(source, f"steps[{i}].{key}", str(exc)))
    return problems


def _replay(state: Rollout, source: str) -> list[Problem]:
    """Replay the history and compare each step and the pause flag with the file."""
    problems: list[Problem] = []
    steps: dict[str, dict[str, str | None]] = {
        s.name: {"state": "pending", "released_at": None, "rolled_back_at": None}
        for s in state.steps
    }
    paused = False
    for i, event in enumerate(state.history[1:], start=1):
        if event.action == "advance":
            entry = steps.get(event.step or "")
            if entry is None:
                problems.append(
                    _problem(
                        source,
                        f"history[{i}].step",
                        f"names no step of the rollout ({event.step!r})",
                    )
                )
                continue
            entry.update(state="released", released_at=event.at, rolled_back_at=None)
        elif event.action == "rollback":
            if event.step is not None and event.step not in steps:
                problems.append(
                    _problem(
                        source,
                        f"history[{i}].step",
                        f"names no step of the rollout ({event.step!r})",
                    )
                )
                continue
            for name, entry in steps.items():
                if entry["state"] == "released" and event.step in (None, name):
                    entry.update(state="rolled-back", rolled_back_at=event.at)
        elif event.action in ("pause", "resume"):
            paused = event.action == "pause"
    for i, step in enumerate(state.steps):
        expected = steps[step.name]
        for key in ("state", "released_at", "rolled_back_at"):
            if getattr(step, key) != expected[key]:
                problems.append(
                    _problem(
                        source,
                        f"steps[{i}].{key}",
                        f"says {getattr(step, key)!r} but the history gives {expected[key]!r}",
                    )
                )
        if step.state == "pending" and (step.approved_by or step.forced_reason):
            problems.append(
                _problem(
                    source,
                    f"steps[{i}].approved_by",
                    "a pending step has no approver or forced reason",
                )
            )
        if step.state != "pending" and step.approval == "required" and not step.approved_by:
            problems.append(
                _problem(
                    source,
                    f"steps[{i}].approved_by",
                    f"step {step.name} needs approval but names no approver",
                )
            )
    if state.paused != paused:
        problems.append(
            _problem(source, "paused", f"says {state.paused} but the history gives {paused}")
        )
    return problems


GateSpec = tuple[str, str, tuple[str, ...], str | None, str]  # name, wave, clusters, bake, approval


def gate_problems(
    state: Rollout, planned: Sequence[GateSpec], *, source: str, policy: str
) -> list[Problem]:
    """Where the steps of the state differ from the steps the start policy gives."""
    problems: list[Problem] = []
    if [p[0] for p in planned] != [s.name for s in state.steps]:
        problems.append(
            _problem(
                source,
                "steps",
                f"the policy ({policy}) gives the steps "
                f"{', '.join(p[0] for p in planned)}, not {', '.join(s.name for s in state.steps)}",
            )
        )
        return problems
    for i, (step, spec) in enumerate(zip(state.steps, planned, strict=True)):
        _, wave, clusters, bake, approval = spec
        expected: dict[str, object] = {
            "wave": wave,
            "clusters": tuple(sorted(clusters)),
            "bake": bake,
            "approval": approval,
        }
        actual: dict[str, object] = {
            "wave": step.wave,
            "clusters": tuple(sorted(step.clusters)),
            "bake": step.bake,
            "approval": step.approval,
        }
        for key, want in expected.items():
            if actual[key] != want:
                problems.append(
                    _problem(
                        source,
                        f"steps[{i}].{key}",
                        f"says {_show(actual[key])} but the policy the rollout was started with "
                        f"({policy}) gives {_show(want)}",
                    )
                )
    return problems


def _show(value: object) -> str:
    if isinstance(value, tuple):
        return ", ".join(value) if value else "nothing"
    return repr(value)


_IMMUTABLE = (
    "name",
    "id",
    "base",
    "head",
    "target",
    "inputs",
    "policy_digest",
    "inventory_digest",
    "started_at",
    "membership",
)
_STEP_FIXED = ("name", "wave", "clusters", "bake", "approval")


def immutable_problems(
    state: Rollout, started: Rollout | None, committed: Rollout | None, *, source: str
) -> list[Problem]:
    """What changed since `start` that must never change; history rewritten since the
    last commit (`committed`: the state at HEAD)."""
    problems: list[Problem] = []
    if started is not None:
        where = "the start commit"
        for key in _IMMUTABLE:
            if getattr(state, key) != getattr(started, key):
                problems.append(
                    _problem(
                        source,
                        key,
                        f"differs from {where} of the rollout (it never changes after `start`)",
                    )
                )
        if len(state.steps) != len(started.steps):
            problems.append(_problem(source, "steps", f"the steps differ from {where}"))
        else:
            for i, (now, then) in enumerate(zip(state.steps, started.steps, strict=True)):
                problems.extend(
                    _problem(
                        source,
                        f"steps[{i}].{key}",
                        f"differs from {where} of the rollout ({_show(getattr(then, key))})",
                    )
                    for key in _STEP_FIXED
                    if getattr(now, key) != getattr(then, key)
                )
        if state.history[:1] != started.history[:1]:
            problems.append(_problem(source, "history[0]", f"differs from {where}"))
    if committed is not None:
        old = committed.history
        if state.history[: len(old)] != old:
            first = next(
                (i for i, (a, b) in enumerate(zip(state.history, old, strict=False)) if a != b),
                len(state.history),
            )
            problems.append(
                _problem(
                    source,
                    f"history[{first}]",
                    "the history was rewritten since the last commit (it only grows)",
                )
            )
    return problems


def check_clock(state: Rollout, now: datetime) -> str | None:
    """Why `now` cannot be used (it is earlier than the last event), or None."""
    times = [parse_time(e.at) for e in state.history]
    times += [parse_time(t) for s in state.steps for t in (s.released_at, s.rolled_back_at) if t]
    if not times:
        return None
    latest = max(times)
    if now.replace(microsecond=0) < latest:
        return (
            f"the clock says {format_time(now)}, earlier than the rollout's last event "
            f"({format_time(latest)}): a clock going backwards would break bake times "
            "(fix the system clock or WAVE_PLANNER_NOW)"
        )
    return None


def step_spec(step: StepRecord) -> GateSpec:
    return (step.name, step.wave, step.clusters, step.bake, step.approval)
