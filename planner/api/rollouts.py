"""Rollouts (release manager): a plan stepped through its waves, its state and manifests
under `waves/<name>/` in the fleet repository."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from planner import plancache
from planner.adapters import files, rolloutrepo
from planner.adapters import plancache as plancache_files
from planner.adapters.gitrepo import GitRepo
from planner.api import rolloutcheck
from planner.api import rollouttrust as trust
from planner.api.request import REQUEST
from planner.errors import Refusal, UserError
from planner.release import drift, model, transitions
from planner.release.model import Inputs, Outcome, Refused, check_rollout_name
from planner.release.view import AdvanceResult, RolloutView
from planner.target import Target

if TYPE_CHECKING:
    from planner.api.gating import Evaluator
    from planner.pins.applied import HeldParseCache
else:  # pydantic checks only that it is callable: the gates are imported when a step is
    # written, so `status` starts without them
    Evaluator = Callable[..., object]

__all__ = [
    "OneRollout",
    "RolloutAdvanceRequest",
    "RolloutListRequest",
    "RolloutPauseRequest",
    "RolloutResumeRequest",
    "RolloutRollbackRequest",
    "RolloutStartRequest",
    "RolloutStatusRequest",
    "RolloutView",
    "rollout_advance",
    "rollout_list",
    "rollout_pause",
    "rollout_resume",
    "rollout_rollback",
    "rollout_start",
    "rollout_status",
]

# ================================================================ rollouts (release manager)
#
# A rollout steps a plan through its waves, one reviewed commit per step; its state and
# manifests live in the fleet repository under `waves/<name>/` (planner.adapters.rolloutrepo).
# The rules are pure (planner.release); these functions read the working tree, recompute the
# plan to detect drift, apply one transition, and write the result atomically. A refused
# command raises `Refusal` before anything is written.


class OneRollout(BaseModel):
    """One rollout of a fleet repository (its folder `waves/<name>/` in `repo`): what every
    request about an existing rollout names."""

    model_config = REQUEST

    repo: Path = Path(".")
    name: str


class RolloutListRequest(BaseModel):
    """`rollout list`: the fleet repository."""

    model_config = REQUEST

    repo: Path = Path(".")


class RolloutStatusRequest(OneRollout):
    """`rollout status`: the rollout to check."""


class RolloutStartRequest(OneRollout):
    """`rollout start`: the change (merge-base(base, head)..head unless `two_dot`), the
    inventory and policy inside the repository, the target, and how to write the rollout."""

    base: str | None = None
    head: str = "HEAD"
    inventory: Path | None = None
    policy: Path | None = None
    target: Target = Target.argocd
    by: str | None = None
    commit: bool = False
    sign: bool = False
    adopt: bool = False
    two_dot: bool = False
    allow_unpinned: bool = False


class RolloutAdvanceRequest(OneRollout):
    """`rollout advance`: approve (`by`, or a signed `approval` revision), `force` past a
    bake or a failing gate (with a `reason`), `if_ready`: wait instead of refusing. `now`
    and `evaluate` replace the clock and the gate probes (tests, `watch`)."""

    approve: bool = False
    by: str | None = None
    force: bool = False
    reason: str | None = None
    commit: bool = False
    approval: str | None = None
    if_ready: bool = False
    now: datetime | None = None
    evaluate: Evaluator | None = None
    allow_unpinned: bool = False


class RolloutRollbackRequest(OneRollout):
    """`rollout rollback`: every released step, or only `step`."""

    step: str | None = None
    by: str | None = None
    commit: bool = False
    sign: bool = False
    allow_unpinned: bool = False


class _Toggle(OneRollout):
    by: str | None = None
    commit: bool = False
    sign: bool = False


class RolloutPauseRequest(_Toggle):
    """`rollout pause`: who pauses, and how to write the state."""


class RolloutResumeRequest(_Toggle):
    """`rollout resume`: who resumes, and how to write the state."""


def rollout_start(request: RolloutStartRequest) -> RolloutView:
    """Plan the change, refuse conflicts, write `waves/<name>/` with nothing released.

    The change is merge-base(base, head)..head (what a pull request shows) unless
    `two_dot`; the rollout records the merge base as its base."""

    root = request.repo.resolve()
    try:
        check_rollout_name(request.name)
    except ValueError as exc:
        raise UserError.single(str(exc), key="--name") from None
    by = trust.check_by(request.by)
    with rolloutrepo.locked(root, f"rollout start {request.name}") as notes:
        return _start(root, request.model_copy(update={"by": by}), notes)


def _start(root: Path, request: RolloutStartRequest, notes: list[str]) -> RolloutView:
    from planner.api.inputs import DEFAULT_INVENTORY, locate_input, path_inside
    from planner.pins.applied import HeldParseCache

    name, policy = request.name, request.policy
    inventory = request.inventory
    if rolloutrepo.exists(root, name):
        raise UserError.single(
            f"a rollout named {name!r} already exists in {rolloutrepo.WAVES_DIR}/",
            key="--name",
            fix="pick another name, or drive it with `rollout status/advance`",
        )
    inventory = locate_input(inventory if inventory is not None else root / DEFAULT_INVENTORY, root)
    policy = locate_input(policy, root) if policy is not None else None
    inventory_rel = path_inside(inventory, root)
    if inventory_rel is None:
        raise UserError.single(
            f"{inventory} is outside the repository {root}",
            key="--inventory",
            fix="commit the inventory into the fleet repository: later commands re-read it "
            "from there to detect drift",
        )
    policy_rel, policy_copy = _rollout_policy_input(root, name, policy)
    inputs = Inputs(inventory=inventory_rel, policy=policy_rel)
    data = plancache_files.read_inputs(root, inputs, policy_file=policy)
    parses = HeldParseCache()  # the plan's parsed kustomizations, for the fleet view's pins too
    try:
        return _start_planned(root, request, notes, (inputs, data, policy), parses, policy_copy)
    finally:
        parses.release()


def _start_planned(
    root: Path,
    request: RolloutStartRequest,
    notes: list[str],
    read: tuple[Inputs, plancache_files.InputBytes, Path | None],
    parses: HeldParseCache,
    policy_copy: tuple[str, bytes] | None,
) -> RolloutView:
    """`rollout start` once its inputs are read (`read`: the inputs, their bytes and the
    policy file given): plan, refuse, write."""
    from planner.api import notifying, rolloutwrite
    from planner.api.fleet import Known
    from planner.emit.pinned import unplaced

    name, target = request.name, request.target
    inputs, data, policy = read
    current = rolloutcheck.recompute(
        root, request.base, request.head, inputs, data, policy_label=policy,
        two_dot=request.two_dot, targets=(target.value,), parses=parses,
    )  # fmt: skip
    plan = current.plan
    if plan.violations:
        problems = "; ".join(v.message for v in plan.violations)
        raise Refusal(f"the plan has violations, fix them before a rollout: {problems}")
    missing = unplaced(plan)
    if missing:
        raise Refusal(
            f"cluster(s) {', '.join(missing)} match no wave of the policy: a rollout would "
            "drop them from the manifests (add a wave that selects them)"
        )
    if not plan.waves:
        raise Refusal(f"nothing to roll out: the change {plan.base[:12]}..{plan.head[:12]} "
                      "affects no cluster")  # fmt: skip
    found = drift.conflicts(plan.affected_names(), rolloutrepo.read_all(root))
    if found:
        raise Refusal(
            "two rollouts would pin the same clusters: "
            + "; ".join(c.message() for c in found)
            + " (finish or roll back that rollout first)"
        )
    now = rolloutrepo.now()
    state = transitions.start(
        plan, name=name, target=target, inputs=inputs, now=now, actor=_actor(root, request.by)
    )
    extra = dict([policy_copy]) if policy_copy is not None else {}
    fingerprint = plancache_files.fingerprint(plan.base, plan.head, data)
    cache_rel = rolloutrepo.relative(root, plancache_files.path(root, name))
    extra[cache_rel] = plancache.dump(rolloutcheck.cache_of(fingerprint, current, target))
    manifests = rolloutwrite.rollout_manifests(
        current, target, frozenset(), allow_unpinned=request.allow_unpinned
    )
    view = rolloutwrite.save_step(
        root, state, now, manifests, request.commit, request.sign, notes, extra=extra,
        adopt=request.adopt, known=Known(inputs.inventory, current.inventory, parses),
    )  # fmt: skip
    notifying.notify_action(current.policy, current, view)
    return view


def rollout_status(request: RolloutStatusRequest) -> RolloutView:
    """The state, the gate holding the next step, and any drift from the repository."""
    root = request.repo.resolve()
    state = rolloutrepo.read(root, request.name)
    now = rolloutrepo.now()
    checked = rolloutcheck.check(root, state)
    trust.verify(root, state, checked.plan(), cache=checked.usable_cache())
    notes = tuple(rolloutrepo.interrupted(root))
    gate = transitions.next_gate(state, now)
    return RolloutView(state, gate, now, tuple(checked.changes), notes=notes)


def rollout_list(request: RolloutListRequest) -> list[RolloutView]:
    """Every rollout under `waves/` (drift is left to `status`)."""
    root = request.repo.resolve()
    now = rolloutrepo.now()
    return [
        RolloutView(state, transitions.next_gate(state, now), now)
        for state in rolloutrepo.read_all(root)
    ]


def rollout_advance(request: RolloutAdvanceRequest) -> AdvanceResult:
    """Release the next step (its clusters' elements move to head), wait (`if_ready`), or
    refuse. The gates of the step released before it are evaluated first
    (`planner.api.gating`)."""
    from planner.api import gating, rolloutwrite

    name, approval = request.name, request.approval
    if request.approve and not request.by and not approval:
        raise UserError.single(
            "--approve needs the approver's name", key="--approve", fix="add --by WHO"
        )
    if request.force and not (request.reason and request.reason.strip()):
        raise UserError.single("--force needs a reason", key="--force", fix='add --reason "..."')
    by = trust.check_by(request.by)
    reason = trust.check_reason(request.reason)
    root = request.repo.resolve()
    with rolloutrepo.locked(root, f"rollout advance {name}"):
        state = rolloutrepo.read(root, name)
        checked = rolloutcheck.check(root, state, step=True)
        trust.verify(root, state, checked.plan(), cache=checked.usable_cache())
        if checked.changes:
            raise Refusal(rolloutcheck.drift_message(state, checked.changes))
        current = checked.context(state)
        when = request.now if request.now is not None else trust.now_after(state)
        ask = request.model_copy(
            update={"by": by, "reason": reason, "approve": request.approve or approval is not None}
        )
        finish = rolloutwrite.step_writer(state, checked, allow_unpinned=request.allow_unpinned)
        actor = _actor(root, None if approval else by)
        return gating.attempt(state, gating.Attempt(root, current, when, actor, ask, finish))


def rollout_rollback(request: RolloutRollbackRequest) -> RolloutView:
    """Pin every released cluster (or one step's) back to the base revision.

    A whole rollback is allowed even when the repository drifted (it is the way out); one
    step's rollback needs the plan to still match.
    """
    from planner.api import notifying, rolloutwrite

    name, step = request.name, request.step
    by = trust.check_by(request.by)
    root = request.repo.resolve()
    with rolloutrepo.locked(root, f"rollout rollback {name}") as notes:
        state = rolloutrepo.read(root, name)
        current, changes = rolloutcheck.recompute_drift(root, state)
        trust.verify(root, state, None if changes else current.plan)
        if changes and step is not None:
            raise Refusal(
                rolloutcheck.drift_message(state, changes) + " (a whole `rollback` still works)"
            )
        now = trust.now_after(state)
        new = _accepted(transitions.rollback(state, now, _actor(root, by), step=step))
        steps_now = {s.name for s in current.plan.waves}
        released = model.released(new) & steps_now
        manifests = rolloutwrite.rollout_manifests(
            current, new.target, frozenset(released), allow_unpinned=request.allow_unpinned
        )
        view = rolloutwrite.save_step(
            root, new, now, manifests, request.commit, request.sign, notes
        )
        notifying.notify_action(current.policy, current, view)
        return view


def rollout_pause(request: RolloutPauseRequest) -> RolloutView:
    """Stop `advance` until `resume` (the manifests do not change)."""
    return _rollout_toggle(request, transitions.pause, "pause")


def rollout_resume(request: RolloutResumeRequest) -> RolloutView:
    """Let `advance` release steps again."""
    return _rollout_toggle(request, transitions.resume, "resume")


def _rollout_toggle(
    request: _Toggle,
    transition: Callable[[model.Rollout, datetime, str], Outcome],
    action: str,
) -> RolloutView:
    from planner.api import rolloutwrite

    by = trust.check_by(request.by)
    root = request.repo.resolve()
    with rolloutrepo.locked(root, f"rollout {action} {request.name}") as notes:
        state = rolloutrepo.read(root, request.name)
        trust.verify(root, state, None)
        now = trust.now_after(state)
        new = _accepted(transition(state, now, _actor(root, by)))
        return rolloutwrite.save_step(root, new, now, None, request.commit, request.sign, notes)


def _accepted(outcome: Outcome) -> model.Rollout:
    if isinstance(outcome, Refused):
        raise Refusal(outcome.message())
    return outcome


def _actor(root: Path, by: str | None) -> str:
    """`--by`, else git's user.name, else `unknown`."""
    if by and by.strip():
        return trust.check_by(by) or "unknown"
    try:
        repo = GitRepo(root)
    except UserError:
        return "unknown"
    try:
        return trust.clean_actor(repo.user_name())
    finally:
        repo.close()


def _rollout_policy_input(
    root: Path, name: str, policy: Path | None
) -> tuple[str | None, tuple[str, bytes] | None]:
    """The policy's path in the repository; a policy from outside is copied into the rollout."""
    from planner.api.inputs import path_inside

    if policy is None:
        return None, None
    rel = path_inside(policy, root)
    if rel is not None:
        return rel, None
    copy = rolloutrepo.relative(root, rolloutrepo.folder(root, name) / "policy.yaml")
    return copy, (copy, files.read_input(policy, "--policy"))
