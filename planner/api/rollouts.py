"""Rollouts (release manager): a plan stepped through its waves, its state and manifests
under `waves/<name>/` in the fleet repository."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from planner import plancache
from planner.adapters import files, rolloutrepo
from planner.adapters import plancache as plancache_files
from planner.adapters.gitrepo import GitRepo
from planner.api import gating, notifying
from planner.api import rollouttrust as trust
from planner.emit import RELEASED_ANNOTATION, Rollout, prepare, unplaced
from planner.errors import Refusal, UserError
from planner.release import drift, messages, model, transitions
from planner.release.model import Inputs, Outcome, Refused, Target, check_rollout_name
from planner.release.view import RolloutView
from planner.repourl import resolve_repo_url

if TYPE_CHECKING:  # the planner and the renderers are imported on first use: `status` with
    # a plan cache that matches needs neither
    from planner.inventory import Inventory
    from planner.nesting import Pins
    from planner.plan import Plan, PlanInputs
    from planner.policy import ArgoCDSettings, FluxSettings, RolloutPolicy

# ================================================================ rollouts (release manager)
#
# A rollout steps a plan through its waves, one reviewed commit per step; its state and
# manifests live in the fleet repository under `waves/<name>/` (planner.adapters.rolloutrepo).
# The rules are pure (planner.release); these functions read the working tree, recompute the
# plan to detect drift, apply one transition, and write the result atomically. A refused
# command raises `Refusal` before anything is written.


class Current(Protocol):
    """What a step's gates and notifications read of the plan's inputs."""

    @property
    def policy(self) -> RolloutPolicy: ...

    @property
    def repo_url(self) -> str | None: ...

    @property
    def inventory(self) -> Inventory: ...


# Write a step: (root, new state, now, released step names to pin the manifests with, or
# None when they do not change, commit) -> the view of what was written.
Finish = Callable[[Path, model.Rollout, datetime, frozenset[str] | None, bool], RolloutView]


@dataclass(frozen=True)
class _Current:
    """The plan recomputed from the repository as it is now, with what rendering needs."""

    plan: Plan
    inventory: Inventory
    policy: RolloutPolicy
    repo_url: str | None
    pins: dict[str, dict[tuple[str, str], Pins]] = dataclasses.field(default_factory=dict)


def rollout_manifests(
    current: _Current, target: str, released: frozenset[str], *, allow_unpinned: bool = False
) -> dict[str, bytes]:
    """THE SEAM to the emitters: the files of the plan pinned with `released` step names.

    Same renderers as `emit` (planner.emit.argocd / flux, list strategy), but a rollout's
    released steps are a set (a step in the middle may be rolled back), not `--released K`.
    Returns {path relative to waves/<name>/<target>/: bytes}.
    """
    from planner.emit import pin_elements
    from planner.plan import UNPLACED

    policy = current.policy
    if target == "argocd":
        url = resolve_repo_url(policy.argocd.repoURL, current.repo_url, setting="argocd.repoURL")
    else:
        url = resolve_repo_url(policy.flux.url, current.repo_url, setting="flux.url")
    prepared = prepare(current.plan, current.inventory, policy.labels, 0, url)
    waves = pin_elements(current.plan, current.inventory, released)
    waves.pop(UNPLACED, None)
    fields = {f.name: getattr(prepared, f.name) for f in dataclasses.fields(prepared)}
    fields.update(released=tuple(s for s in prepared.steps if s in released), waves=waves)
    pinned = _StepPinned(**fields)
    pinned = dataclasses.replace(pinned, pins=current.pins.get(target, {}))
    from planner.pinning import leaks

    found = leaks(pinned.pins, pinned.head)
    if found and not allow_unpinned:
        raise Refusal(
            "nested objects cannot be pinned: "
            + "; ".join(leak.message() for leak in found)
            + " (pass --allow-unpinned to write anyway, knowingly)"
        )
    return _render(pinned, policy.argocd if target == "argocd" else policy.flux)


@dataclass(frozen=True)
class _StepPinned(Rollout):
    """Emitter input for a rollout: without the `released: K/N` annotation.

    A rollout records its progress in `rollout.yaml`; a count on every object would rewrite
    every manifest on every step, while an `advance` must change only its step's elements.
    """

    def annotations(self) -> dict[str, str]:
        out = super().annotations()
        out.pop(RELEASED_ANNOTATION, None)
        return out


def rollout_start(
    repo: Path,
    *,
    name: str,
    base: str | None,
    head: str,
    inventory: Path | None = None,
    policy: Path | None = None,
    target: Target = "argocd",
    by: str | None = None,
    commit: bool = False,
    sign: bool = False,
    adopt: bool = False,
    two_dot: bool = False,
    allow_unpinned: bool = False,
) -> RolloutView:
    """Plan the change, refuse conflicts, write `waves/<name>/` with nothing released.

    The change is merge-base(base, head)..head (what a pull request shows) unless
    `two_dot`; the rollout records the merge base as its base."""

    root = repo.resolve()
    try:
        check_rollout_name(name)
    except ValueError as exc:
        raise UserError.single(str(exc), key="--name") from None
    by = trust.check_by(by)
    with rolloutrepo.locked(root, f"rollout start {name}") as notes:
        return _start(root, name, base, head, inventory, policy, target, by, commit, sign,
                      adopt, notes, two_dot, allow_unpinned)  # fmt: skip


def _start(
    root: Path,
    name: str,
    base: str | None,
    head: str,
    inventory: Path | None,
    policy: Path | None,
    target: Target,
    by: str | None,
    commit: bool,
    sign: bool,
    adopt: bool,
    notes: list[str],
    two_dot: bool = False,
    allow_unpinned: bool = False,
) -> RolloutView:
    from planner.api.inputs import DEFAULT_INVENTORY, locate_input, path_inside

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
    current = _rollout_current(root, base, head, inputs, data, policy_label=policy, two_dot=two_dot)
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
        plan, name=name, target=target, inputs=inputs, now=now, actor=_actor(root, by)
    )
    extra = dict([policy_copy]) if policy_copy is not None else {}
    fingerprint = plancache_files.fingerprint(plan.base, plan.head, data)
    cache_rel = rolloutrepo.relative(root, plancache_files.path(root, name))
    extra[cache_rel] = plancache.dump(_cache_of(fingerprint, current, target))
    manifests = rollout_manifests(current, target, frozenset(), allow_unpinned=allow_unpinned)
    view = _finish(root, state, now, manifests, commit, sign, notes, extra=extra, adopt=adopt)
    notifying.notify_action(current.policy, current, view)
    return view


def rollout_status(repo: Path, name: str) -> RolloutView:
    """The state, the gate holding the next step, and any drift from the repository."""
    root = repo.resolve()
    state = rolloutrepo.read(root, name)
    now = rolloutrepo.now()
    checked = _check(root, state)
    trust.verify(root, state, checked.plan(), cache=checked.usable_cache())
    notes = tuple(rolloutrepo.interrupted(root))
    gate = transitions.next_gate(state, now)
    return RolloutView(state, gate, now, tuple(checked.changes), notes=notes)


def rollout_list(repo: Path) -> list[RolloutView]:
    """Every rollout under `waves/` (drift is left to `status`)."""
    root = repo.resolve()
    now = rolloutrepo.now()
    return [
        RolloutView(state, transitions.next_gate(state, now), now)
        for state in rolloutrepo.read_all(root)
    ]


def rollout_advance(
    repo: Path,
    name: str,
    *,
    approve: bool = False,
    by: str | None = None,
    force: bool = False,
    reason: str | None = None,
    commit: bool = False,
    approval: str | None = None,
    allow_unpinned: bool = False,
) -> RolloutView:
    """Release the next step (its clusters' elements move to head), or refuse.

    The gates of the step released before it are evaluated first (`planner.api.gating`).
    """
    return gating.rollout_step(
        repo, name, approve=approve, by=by, force=force, reason=reason, commit=commit,
        approval=approval, allow_unpinned=allow_unpinned,
    ).view  # fmt: skip


def rollout_rollback(
    repo: Path,
    name: str,
    *,
    step: str | None = None,
    by: str | None = None,
    commit: bool = False,
    sign: bool = False,
    allow_unpinned: bool = False,
) -> RolloutView:
    """Pin every released cluster (or one step's) back to the base revision.

    A whole rollback is allowed even when the repository drifted (it is the way out); one
    step's rollback needs the plan to still match.
    """
    by = trust.check_by(by)
    root = repo.resolve()
    with rolloutrepo.locked(root, f"rollout rollback {name}") as notes:
        state = rolloutrepo.read(root, name)
        current, changes = _rollout_drift(root, state)
        trust.verify(root, state, None if changes else current.plan)
        if changes and step is not None:
            raise Refusal(_drift_message(state, changes) + " (a whole `rollback` still works)")
        now = trust.now_after(state)
        new = _accepted(transitions.rollback(state, now, _actor(root, by), step=step))
        steps_now = {s.name for s in current.plan.waves}
        released = model.released(new) & steps_now
        manifests = rollout_manifests(
            current, new.target, frozenset(released), allow_unpinned=allow_unpinned
        )
        view = _finish(root, new, now, manifests, commit, sign, notes)
        notifying.notify_action(current.policy, current, view)
        return view


def rollout_pause(
    repo: Path, name: str, *, by: str | None = None, commit: bool = False, sign: bool = False
) -> RolloutView:
    """Stop `advance` until `resume` (the manifests do not change)."""
    return _rollout_toggle(repo, name, transitions.pause, by, commit, sign)


def rollout_resume(
    repo: Path, name: str, *, by: str | None = None, commit: bool = False, sign: bool = False
) -> RolloutView:
    """Let `advance` release steps again."""
    return _rollout_toggle(repo, name, transitions.resume, by, commit, sign)


def _rollout_toggle(
    repo: Path,
    name: str,
    transition: Callable[[model.Rollout, datetime, str], Outcome],
    by: str | None,
    commit: bool,
    sign: bool = False,
) -> RolloutView:
    by = trust.check_by(by)
    root = repo.resolve()
    action = "pause" if transition is transitions.pause else "resume"
    with rolloutrepo.locked(root, f"rollout {action} {name}") as notes:
        state = rolloutrepo.read(root, name)
        trust.verify(root, state, None)
        now = trust.now_after(state)
        new = _accepted(transition(state, now, _actor(root, by)))
        return _finish(root, new, now, None, commit, sign, notes)


def _accepted(outcome: Outcome) -> model.Rollout:
    if isinstance(outcome, Refused):
        raise Refusal(outcome.message())
    return outcome


def _step_writer(
    before: model.Rollout, checked: _Checked, *, allow_unpinned: bool = False
) -> Finish:
    """The gating path's finish: the step (state, manifests, fleet view) as one transaction
    and, with `commit`, its commit; all of it, or nothing.

    With the plan cache standing for the plan (`checked.cache`), only the files whose pins
    move are rendered (`planner.emit.stepfiles`): the released step's files, and the fleet
    view's entries of its clusters. Otherwise (nested pins, a folder that does not hold
    exactly the files the rollout generates, a recomputed plan) the full render.
    """

    def finish(
        root: Path,
        state: model.Rollout,
        now: datetime,
        released: frozenset[str] | None,
        commit: bool,
    ) -> RolloutView:
        manifests: dict[str, bytes] | None = None
        parts: dict[str, dict[str, bytes]] = {}
        if released is not None:
            cache = checked.cache
            step = _step_files(root, before, state, cache) if cache is not None else None
            if step is not None:
                out = rolloutrepo.folder(root, state.name) / state.target
                parts[rolloutrepo.relative(root, out)] = step
            else:
                current = checked.current or _rollout_current(
                    root, state.base, state.head, state.inputs, checked.data
                )
                manifests = rollout_manifests(
                    current, state.target, released, allow_unpinned=allow_unpinned
                )
        return _finish(
            root, state, now, manifests, commit, False, [], parts=parts,
            cache=checked.cache, before=before,
        )  # fmt: skip

    return finish


def _step_files(
    root: Path,
    before: model.Rollout,
    after: model.Rollout,
    cache: plancache.PlanCache,
) -> dict[str, bytes] | None:
    """The files of the rollout's folder whose pins move from `before` to `after`, from the
    cache; None when the full render is needed (nested pins, or the folder does not hold
    exactly the files the rollout generates)."""
    from planner.emit import stepfiles

    if cache.nested_pins:
        return None
    released = model.released(after)
    pinned = _pinned(plancache.emitter_input(cache, after, released))
    settings = plancache.settings(cache)
    out = rolloutrepo.folder(root, after.name) / after.target
    if not rolloutrepo.holds(out, stepfiles.all_paths(pinned, settings)):
        return None
    was = model.released(before)
    moved = {s.name for s in after.steps if (s.name in was) != (s.name in released)}
    step = stepfiles.step_files(pinned, settings, plancache.clusters_of(cache, moved))
    return step if rolloutrepo.regular(out, step) else None


def _finish(
    root: Path,
    state: model.Rollout,
    now: datetime,
    manifests: dict[str, bytes] | None,
    commit: bool,
    sign: bool,
    notes: list[str],
    *,
    extra: dict[str, bytes] | None = None,
    adopt: bool = False,
    parts: dict[str, dict[str, bytes]] | None = None,
    cache: plancache.PlanCache | None = None,
    before: model.Rollout | None = None,
) -> RolloutView:
    """Write the step as one transaction (and commit it): all of it, or nothing.

    `parts`: files of generated folders that change (the rest of each folder stays as it
    is); `cache` and `before` (the state on disk): the fleet view may then be written for the
    clusters whose pins move only (`planner.api.fleet.view_step`)."""
    from planner.api.fleet import folder, view_files, view_step

    others = [r for r in rolloutrepo.read_all(root) if r.name != state.name]
    fleet_rel = rolloutrepo.relative(root, folder(root, state.target))
    parts = dict(parts or {})
    trees = None
    step = None
    if cache is not None and before is not None:
        step = view_step(root, state.target, [*others, before], [*others, state], cache)
    if step is not None:
        if step:
            parts[fleet_rel] = step
    else:
        view = view_files(root, state.target, [*others, state])
        trees = {fleet_rel: view} if view else None
    gate = transitions.next_gate(state, now)
    written, sha = rolloutrepo.save(
        root,
        state,
        manifests,
        extra=extra,
        trees=trees,
        parts=parts,
        message=messages.commit_message(state) if commit else None,
        sign=sign,
        adopt=adopt,
        command=f"rollout {state.history[-1].action} {state.name}",
    )
    return RolloutView(state, gate, now, written=tuple(written), commit=sha, notes=tuple(notes))


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


def _rollout_current(
    root: Path,
    base: str | None,
    head: str,
    inputs: Inputs,
    data: plancache_files.InputBytes,
    *,
    policy_label: Path | None = None,
    two_dot: bool = False,
) -> _Current:
    """The plan of base..head with the inventory and policy of the working tree (`data`)."""
    from planner import policy as policy_mod
    from planner.api.inputs import Sources, load_policy_file, open_workspace, repo_urls
    from planner.inventory import parse_inventory
    from planner.plan import analyse, assemble

    workspace = open_workspace(
        Sources(repo=root, base=base, head=head, inventory=root / inputs.inventory, two_dot=two_dot)
    )
    try:
        inventory = parse_inventory(data.inventory, source=inputs.inventory)
        if data.policy is None:
            policy, source = load_policy_file(None, inventory)
        else:
            label = str(policy_label) if policy_label is not None else str(inputs.policy)
            policy, source = policy_mod.load_policy(data.policy, source=label), label
        if inputs.policy is not None:
            source = inputs.policy
        urls = repo_urls(policy, workspace.repo_url)
        plan_inputs = dataclasses.replace(
            workspace.inputs,
            inventory=inventory,
            policy=policy,
            policy_source=source,
            repo_urls=urls,
        )
        planned = assemble(plan_inputs, analyse(plan_inputs))
        return _Current(
            planned, inventory, policy, workspace.repo_url, _all_pins(plan_inputs, planned)
        )
    finally:
        workspace.close()


def _all_pins(inputs: PlanInputs, plan: Plan) -> dict[str, dict[tuple[str, str], Pins]]:
    """Nested pins of every cluster at head, and of affected clusters at base, per target."""
    from planner.nesting import PinContext
    from planner.pinning import Wanted, fleet_pins

    affected = set(plan.affected_names())
    wanted = [Wanted(c.name, c.gitops_path, plan.head) for c in inputs.inventory.clusters]
    wanted += [
        Wanted(c.name, c.gitops_path, plan.base)
        for c in inputs.inventory.clusters
        if c.name in affected
    ]
    context = PinContext(frozenset(inputs.policy.flux_sources), tuple(inputs.repo_urls))
    snaps = {plan.base: inputs.base, plan.head: inputs.head}
    return {
        target: fleet_pins(
            snaps, wanted, context, target=target, flux_namespace=inputs.policy.flux.namespace
        )
        for target in ("argocd", "flux")
    }


def _worktree_inventory(root: Path, rel: str) -> Inventory:
    """The inventory of the working tree (a file, or every YAML file below a folder)."""
    from planner.inventory import parse_inventory

    return parse_inventory(plancache_files.inventory_files(root, rel), source=rel)


# ------------------------------------------------------------------ the plan cache (fast path)


@dataclass(frozen=True)
class _Cached:
    """The plan cache standing for the plan (every input digest unchanged): what a step
    needs of the inputs without planning. The inventory is parsed only when read (a step's
    gates read its clusters' labels)."""

    cache: plancache.PlanCache
    policy: RolloutPolicy
    repo_url: str | None
    data: plancache_files.InputBytes
    source: str

    @functools.cached_property
    def inventory(self) -> Inventory:
        from planner.inventory import parse_inventory

        return parse_inventory(self.data.inventory, source=self.source)


@dataclass(frozen=True)
class _Checked:
    """The drift check: from the plan cache when every input digest matches, else from the
    plan recomputed in full (`current`)."""

    changes: list[str]
    fingerprint: plancache.Fingerprint
    data: plancache_files.InputBytes
    cache: plancache.PlanCache | None = None
    current: _Current | None = None
    policy: RolloutPolicy | None = None  # the cache's (`step`)

    def plan(self) -> Plan | None:
        """The recomputed plan, when it still matches (what `trust.verify` checks against)."""
        return self.current.plan if self.current is not None and not self.changes else None

    def usable_cache(self) -> plancache.PlanCache | None:
        return self.cache if not self.changes else None

    def context(self, state: model.Rollout) -> Current:
        if self.current is not None:
            return self.current
        assert self.cache is not None and self.policy is not None
        return _Cached(self.cache, self.policy, self.data.origin, self.data, state.inputs.inventory)


def _check(root: Path, state: model.Rollout, *, step: bool = False) -> _Checked:
    """Drift, exactly: digests first (cheap), the full plan only when one changed.

    `step`: the caller writes a step; the cache must also hold the policy and each step's
    gates (an older cache does not: recompute)."""
    data = plancache_files.read_inputs(root, state.inputs)
    fingerprint = plancache_files.fingerprint(state.base, state.head, data)
    cache = plancache_files.read(root, state.name)
    hit = cache is not None and plancache.usable(cache, fingerprint, state)
    if cache is not None and hit:
        policy = plancache.policy_of(cache) if step else None
        if not step or (policy is not None and plancache.gate_specs(cache) is not None):
            changes = drift.drift(state, cache.observed())
            return _Checked(changes, fingerprint, data, cache, policy=policy)
    current = _rollout_current(root, state.base, state.head, state.inputs, data)
    observed = drift.observe(current.plan, current.inventory.names())
    return _Checked(drift.drift(state, observed), fingerprint, data, current=current)


def _cache_of(
    fingerprint: plancache.Fingerprint, current: _Current, target: Target
) -> plancache.PlanCache:
    return plancache.build(
        fingerprint,
        current.plan,
        current.inventory,
        current.policy,
        target=target,
        repo_url=_repo_url(current, target),
        nested_pins=any(
            p.pins or p.unpinned or p.plain_folders for p in current.pins.get(target, {}).values()
        ),
    )


def _repo_url(current: _Current, target: str) -> str:
    policy = current.policy
    if target == "argocd":
        return resolve_repo_url(policy.argocd.repoURL, current.repo_url, setting="argocd.repoURL")
    return resolve_repo_url(policy.flux.url, current.repo_url, setting="flux.url")


def _pinned(rollout: Rollout) -> _StepPinned:
    fields = {f.name: getattr(rollout, f.name) for f in dataclasses.fields(rollout)}
    return _StepPinned(**fields)


def _render(rollout: Rollout, settings: ArgoCDSettings | FluxSettings) -> dict[str, bytes]:
    from planner.emit import argocd, flux
    from planner.policy import FluxSettings

    if isinstance(settings, FluxSettings):
        return flux.render(rollout, settings)
    return argocd.render(rollout, settings, argocd.Strategy.list)


def _rollout_drift(root: Path, state: model.Rollout) -> tuple[_Current, list[str]]:
    """The plan recomputed in full, and the drift (commands that need the plan itself)."""
    data = plancache_files.read_inputs(root, state.inputs)
    current = _rollout_current(root, state.base, state.head, state.inputs, data)
    observed = drift.observe(current.plan, current.inventory.names())
    return current, drift.drift(state, observed)


def _drift_message(state: model.Rollout, changes: list[str]) -> str:
    return (
        f"rollout {state.name} no longer matches the repository: "
        + "; ".join(changes)
        + f". Refusing to guess: restore {state.inputs.inventory}"
        + (f" / {state.inputs.policy}" if state.inputs.policy else "")
        + ", or roll back and start a new rollout"
    )
