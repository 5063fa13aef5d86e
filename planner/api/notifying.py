"""Rollout events for the policy's webhooks: what happened, built from the state just written.

Each action (start, release, refusal, gate failure, rollback, completion) becomes one
`planner.notify.RolloutEvent`, posted by `planner.adapters.webhooks` after the state is
written, so a webhook that is down is a warning, never a lost state change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from planner import notify
from planner.release import model
from planner.release.model import Rollout, StepRecord
from planner.release.view import RolloutView

if TYPE_CHECKING:
    from planner.api.rolloutcheck import Current
    from planner.policy import RolloutPolicy


def refusal(
    current: Current, state: Rollout, step: StepRecord, now: datetime, actor: str, text: str
) -> None:
    del now
    send(
        current.policy,
        [event(current, state, "refusal", step.name, step.clusters, actor, None, text)],
    )


def event(
    current: Current,
    state: Rollout,
    what: notify.What,
    step: str | None,
    clusters: Sequence[str],
    actor: str,
    commit: str | None,
    text: str | None = None,
) -> notify.RolloutEvent:
    last = state.history[-1]
    return notify.RolloutEvent(
        rollout=state.name,
        what=what,
        step=step,
        clusters=tuple(clusters),
        by=actor,
        at=last.at,
        text=text if text is not None else last.detail,
        state=model.state_of(state),
        link=notify.link(current.repo_url, commit or state.head, state.name),
    )


def send(policy: RolloutPolicy, events: Sequence[notify.RolloutEvent]) -> tuple[str, ...]:
    if not policy.notify or not events:
        return ()
    from planner.adapters import webhooks

    return tuple(webhooks.post(policy.notify, events))


def notify_action(policy: RolloutPolicy, current: Current, view: RolloutView) -> tuple[str, ...]:
    """The webhook event for a `start` or a `rollback` that was just written."""
    state = view.state
    last = state.history[-1]
    if last.action == "start":
        clusters = tuple(sorted(state.affected()))
        found = event(current, state, "start", None, clusters, last.actor, view.commit)
    elif last.action == "rollback":
        back = tuple(c for s in state.steps if s.rolled_back_at == last.at for c in s.clusters)
        found = event(current, state, "rollback", last.step, back, last.actor, view.commit)
    else:
        return ()
    return send(policy, [found])
