"""Writing a rollout's step: its manifests (`rollout_manifests`, the seam to the emitters),
the fleet view, the state and, with `commit`, its commit, as one transaction (`save_step`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from planner import plancache
from planner.adapters import rolloutrepo
from planner.api import rolloutcheck
from planner.emit.pinned import RELEASED_ANNOTATION, PinnedPlan, prepare
from planner.errors import Refusal
from planner.release import messages, model, transitions
from planner.release.view import RolloutView
from planner.wiring.repourl import resolve_repo_url

if TYPE_CHECKING:
    from planner.api.fleet import Known
    from planner.policy import ArgoCDSettings, FluxSettings

# Write a step: (root, new state, now, released step names to pin the manifests with, or
# None when they do not change, commit) -> the view of what was written.
Finish = Callable[[Path, model.Rollout, datetime, frozenset[str] | None, bool], RolloutView]


def rollout_manifests(
    current: rolloutcheck.Recomputed,
    target: str,
    released: frozenset[str],
    *,
    allow_unpinned: bool = False,
) -> dict[str, bytes]:
    """THE SEAM to the emitters: the files of the plan pinned with `released` step names.

    Same renderers as `emit` (planner.emit.argocd / flux, list strategy), but a rollout's
    released steps are a set (a step in the middle may be rolled back), not `--released K`.
    Returns {path relative to waves/<name>/<target>/: bytes}.
    """
    from planner.emit.pinned import pin_elements
    from planner.placement import UNPLACED

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
    pinned = dataclasses.replace(pinned, pins=current.pins_of(target))
    from planner.pins.pinning import leaks

    found = leaks(pinned.pins, pinned.head)
    if found and not allow_unpinned:
        raise Refusal(
            "nested objects cannot be pinned: "
            + "; ".join(leak.message() for leak in found)
            + " (pass --allow-unpinned to write anyway, knowingly)"
        )
    return _render(pinned, policy.argocd if target == "argocd" else policy.flux)


@dataclass(frozen=True)
class _StepPinned(PinnedPlan):
    """Emitter input for a rollout: without the `released: K/N` annotation.

    A rollout records its progress in `rollout.yaml`; a count on every object would rewrite
    every manifest on every step, while an `advance` must change only its step's elements.
    """

    def annotations(self) -> dict[str, str]:
        out = super().annotations()
        out.pop(RELEASED_ANNOTATION, None)
        return out


def step_writer(
    before: model.Rollout, checked: rolloutcheck.Checked, *, allow_unpinned: bool = False
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
                current = checked.current or rolloutcheck.recompute(
                    root, state.base, state.head, state.inputs, checked.data,
                    targets=(state.target,),
                )  # fmt: skip
                manifests = rollout_manifests(
                    current, state.target, released, allow_unpinned=allow_unpinned
                )
        return save_step(
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
    pinned = step_pinned(plancache.emitter_input(cache, after, released))
    settings = plancache.settings(cache)
    out = rolloutrepo.folder(root, after.name) / after.target
    if not rolloutrepo.holds(out, stepfiles.all_paths(pinned, settings)):
        return None
    was = model.released(before)
    moved = {s.name for s in after.steps if (s.name in was) != (s.name in released)}
    step = stepfiles.step_files(pinned, settings, plancache.clusters_of(cache, moved))
    return step if rolloutrepo.regular(out, step) else None


def save_step(
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
    known: Known | None = None,
) -> RolloutView:
    """Write the step as one transaction (and commit it): all of it, or nothing.

    `parts`: files of generated folders that change (the rest of each folder stays as it
    is); `cache` and `before` (the state on disk): the fleet view may then be written for the
    clusters whose pins move only (`planner.api.fleet.view_step`); `known`: what the
    command already read and parsed, for the fleet view's full render."""
    from planner.api.fleet import folder, view_files, view_step

    others = [rolloutrepo.read(root, n) for n in rolloutrepo.names(root) if n != state.name]
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
        view = view_files(root, state.target, [*others, state], known=known)
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


def step_pinned(rollout: PinnedPlan) -> _StepPinned:
    fields = {f.name: getattr(rollout, f.name) for f in dataclasses.fields(rollout)}
    return _StepPinned(**fields)


def _render(rollout: PinnedPlan, settings: ArgoCDSettings | FluxSettings) -> dict[str, bytes]:
    from planner.emit import argocd, flux
    from planner.policy import FluxSettings

    if isinstance(settings, FluxSettings):
        return flux.render(rollout, settings)
    return argocd.render(rollout, settings, argocd.Strategy.list)
