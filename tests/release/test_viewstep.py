"""The fleet view of one step (planner.api.fleet.view_step): the files whose pins move, with
the bytes a full render of the view gives, or None where only the full render is exact."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner import plancache
from planner.adapters import files
from planner.api import fleet
from planner.fleetview import compose
from planner.inventory import parse_inventory
from planner.policy import ArgoCDSettings, FluxSettings, default_policy
from planner.release.model import Inputs, Member, Rollout, StepRecord, StepState
from planner.target import Target

A1, A2, B1, B2 = "1" * 40, "2" * 40, "3" * 40, "4" * 40
CLUSTERS = ("c1", "c2", "c3", "c4", "c5", "c6")
INVENTORY = parse_inventory(
    {
        "clusters.yaml": (
            "clusters:\n"
            + "".join(
                f"  - {{name: {c}, labels: {{environment: prod}}, server: https://{c}.example}}\n"
                for c in CLUSTERS
            )
        ).encode()
    },
    source="clusters.yaml",
)
STEPS = {"one": ("c1", "c2"), "two": ("c3",), "three": ("c4",)}


def rollout(
    name: str,
    base: str,
    head: str,
    steps: dict[str, StepState],
    started: str,
    target: str,
    clusters: dict[str, tuple[str, ...]] | None = None,
) -> Rollout:
    held = clusters or STEPS
    return Rollout(
        name=name,
        id=f"plan-{name}",
        base=base,
        head=head,
        target=Target(target),
        inputs=Inputs(inventory="clusters.yaml"),
        policy_digest="p",
        inventory_digest="i",
        started_at=started,
        membership=(
            Member(wave="dev", clusters=("c5", "c6")),
            Member(wave="prod", clusters=("c1", "c2", "c3", "c4")),
        ),
        steps=tuple(
            StepRecord(name=step, wave="prod", clusters=held[step], state=state)
            for step, state in steps.items()
        ),
    )


def cache_for(newest: Rollout, target: str) -> plancache.PlanCache:
    settings: ArgoCDSettings | FluxSettings = (
        ArgoCDSettings(shard_size=1) if target == "argocd" else FluxSettings()
    )
    return plancache.PlanCache(
        fingerprint=plancache.Fingerprint(
            tool="t", base=newest.base, head=newest.head, inventory="i", policy="p", origin=None
        ),
        target=Target(target),
        plan_id=newest.id,
        policy_digest="p",
        inventory_digest="i",
        steps=tuple((s.name, s.clusters) for s in newest.steps),
        membership=tuple((m.wave, m.clusters) for m in newest.membership),
        clusters={c.name: (c.server or "", c.gitops_path, "") for c in INVENTORY.clusters},
        repo_url="https://git.example.com/fleet.git",
        settings=settings.model_dump_json(),
    )


def full_view(rollouts: list[Rollout], cache: plancache.PlanCache) -> dict[str, bytes]:
    view = compose(rollouts, INVENTORY, cache.target)
    assert view is not None
    policy = default_policy(INVENTORY)
    settings = plancache.settings(cache)
    policy = policy.model_copy(update={cache.target: settings})
    return fleet.render_view(view, cache.repo_url, {}, policy, INVENTORY)


NEW = "2024-02-01T00:00:00Z"
OLD = "2024-01-01T00:00:00Z"


def older(kind: str, target: str) -> Rollout:
    """An older rollout of the fleet: complete, rolled back (c3, c4 on its base), still
    active (c5 on its base), or of the other target."""
    if kind == "done":
        return rollout("done", A1, A2, {"one": "released"}, OLD, target)
    if kind == "back":
        return rollout("back", A1, A2, {"one": "rolled-back"}, OLD, target, {"one": ("c3", "c4")})
    if kind == "held":
        return rollout("held", A1, A2, {"one": "pending"}, OLD, target, {"one": ("c5",)})
    other = "argocd" if target == "flux" else "flux"
    return rollout("other", A1, A2, {"one": "pending"}, OLD, other, {"one": ("c5",)})


P: StepState = "pending"
R: StepState = "released"
B: StepState = "rolled-back"
States = list[StepState]
# (older rollouts, the newest rollout's step states before, after)
MOVES: dict[str, tuple[list[str], States, States]] = {
    "first step": ([], [P, P, P], [R, P, P]),
    "last step: complete": ([], [R, R, P], [R, R, R]),
    "rollback of one step": ([], [R, R, P], [R, B, P]),
    "rollback of all": ([], [R, R, P], [B, B, P]),
    "after a complete one": (["done"], [P, P, P], [R, P, P]),
    "after a rolled-back one": (["back"], [R, P, P], [R, R, P]),
    "completing over a rolled-back one": (["back"], [R, R, P], [R, R, R]),
    "another target": (["other"], [P, P, P], [R, P, P]),
}


@pytest.mark.parametrize("target", ["flux", "argocd"])
@pytest.mark.parametrize("move", sorted(MOVES))
def test_a_step_of_the_view_is_what_the_full_render_changes(
    tmp_path: Path, move: str, target: str
) -> None:
    kinds, was, now = MOVES[move]
    others = [older(kind, target) for kind in kinds]
    before = rollout("new", B1, B2, dict(zip(STEPS, was, strict=True)), NEW, target)
    after = rollout("new", B1, B2, dict(zip(STEPS, now, strict=True)), NEW, target)
    cache = cache_for(after, target)
    old = full_view([*others, before], cache)
    new = full_view([*others, after], cache)
    files.write_tree(fleet.folder(tmp_path, target), old)

    step = fleet.view_step(tmp_path, target, [*others, before], [*others, after], cache)

    assert step is not None
    assert set(old) == set(new)
    changed = {p for p in new if old[p] != new[p]}
    assert changed, "the move changes some pins"
    assert changed <= set(step)
    assert all(new[p] == data for p, data in step.items())


def test_a_view_pinning_what_the_cache_does_not_hold_is_rendered_in_full(tmp_path: Path) -> None:
    """An older active rollout pins c5 to its own base: the newest one's cache cannot say
    whether that element needs a nested pin."""
    before = rollout("new", B1, B2, {"one": P, "two": P, "three": P}, NEW, "flux")
    after = rollout("new", B1, B2, {"one": R, "two": P, "three": P}, NEW, "flux")
    held = older("held", "flux")
    cache = cache_for(after, "flux")
    files.write_tree(fleet.folder(tmp_path, "flux"), full_view([held, before], cache))
    assert fleet.view_step(tmp_path, "flux", [held, before], [held, after], cache) is None
    assert fleet.view_step(tmp_path, "flux", [before], [after], cache) is not None
