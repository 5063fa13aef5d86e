"""The applied fleet view `waves/fleet/<target>/`: composed (planner.fleetview), pinned
through nested objects (planner.pins.nesting), rendered by the emitters and written atomically.

Every `rollout` command renders the view (`view_files`) with its new state and writes it in
the same transaction as the step (planner.adapters.rolloutrepo.save), so the one folder
Argo CD or Flux point at always carries every rollout's pins.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from planner import plancache
from planner.adapters import files, rolloutrepo
from planner.emit.pinned import PinnedPlan
from planner.fleetview import FLEET_DIR, FleetView, compose, compose_pins, view_of
from planner.release import model

if TYPE_CHECKING:  # the nested-pin tracer is imported by the full render only: a step from
    # the plan cache (`view_step`) needs none of it
    from planner.hierarchy.parsing import ParseCache
    from planner.inventory import Inventory
    from planner.pins.nesting import Pins
    from planner.policy import RolloutPolicy

VIEW_ANNOTATION = "wave-planner.io/view"


@dataclass(frozen=True)
class _FleetRollout(PinnedPlan):
    """Emitter input for the fleet view: it belongs to no single plan."""

    def annotations(self) -> dict[str, str]:
        return {VIEW_ANNOTATION: "fleet"}


def folder(root: Path, target: str) -> Path:
    """`waves/fleet/<target>/`."""
    return root / rolloutrepo.WAVES_DIR / FLEET_DIR / target


def refresh_fleet_view(root: Path, target: str) -> list[str]:
    """Recompose and write `waves/fleet/<target>/`; the paths written (repository-relative)."""
    rendered = view_files(root, target, rolloutrepo.read_all(root))
    if rendered is None:
        return []
    out = folder(root, target)
    diff = files.write_tree(out, rendered)
    return sorted(
        rolloutrepo.relative(root, out / p) for p in (*diff.added, *diff.changed, *diff.removed)
    )


@dataclass(frozen=True)
class Known:
    """What a command already read and parsed, that the fleet view reads too: the working
    tree's inventory at `inventory_path` as parsed (the same bytes), and the plan's parse
    cache (kustomizations by path and blob id, so the same content whatever the snapshot)."""

    inventory_path: str
    inventory: Inventory
    parses: ParseCache | None = None


def view_files(
    root: Path, target: str, rollouts: list[model.Rollout], *, known: Known | None = None
) -> dict[str, bytes] | None:
    """The files of `waves/fleet/<target>/` composed from `rollouts` (None: no rollout has
    that target), rendered in memory so a step can write them in its transaction.

    `known`: the inventory and parse cache the command already holds (`rollout start`)."""
    from planner.adapters.gitrepo import GitRepo
    from planner.api.inputs import load_policy_file, repo_urls
    from planner.api.rolloutcheck import worktree_inventory
    from planner.pins.nesting import PinContext
    from planner.pins.pinning import Wanted, fleet_pins
    from planner.wiring.repourl import resolve_repo_url

    mine = [r for r in rollouts if r.target == target]
    if not mine:
        return None
    newest = max(mine, key=lambda r: (r.started_at, r.name))
    if known is not None and known.inventory_path == newest.inputs.inventory:
        inventory = known.inventory
    else:
        inventory = worktree_inventory(root, newest.inputs.inventory)
    policy_path = root / newest.inputs.policy if newest.inputs.policy else None
    policy, _ = load_policy_file(policy_path, inventory)
    view = compose(rollouts, inventory, target)
    assert view is not None
    repo = GitRepo(root)
    try:
        origin = repo.origin_url()
        if target == "argocd":
            url = resolve_repo_url(policy.argocd.repoURL, origin, setting="argocd.repoURL")
        else:
            url = resolve_repo_url(policy.flux.url, origin, setting="flux.url")
        snaps = {rev: repo.snapshot(rev) for rev in sorted(view.revisions())}
        context = PinContext(frozenset(policy.flux_sources), tuple(repo_urls(policy, origin)))
        wanted = [Wanted(e.cluster, e.path, e.revision) for w in view.waves.values() for e in w]
        pins = fleet_pins(
            snaps,
            wanted,
            context,
            target=target,
            flux_namespace=policy.flux.namespace,
            parses=known.parses if known is not None else None,
        )
    finally:
        repo.close()
    return render_view(view, url, pins, policy, inventory)


def render_view(
    view: FleetView,
    url: str,
    pins: dict[tuple[str, str], Pins],
    policy: RolloutPolicy,
    inventory: Inventory,
) -> dict[str, bytes]:
    """The fleet view's files, by the same emitters as `emit` (list strategy)."""
    from planner.emit import argocd as argocd_emit
    from planner.emit import flux as flux_emit

    rollout = _FleetRollout(
        plan_id="fleet",
        base=view.default,
        head=view.default,
        emergency=None,
        steps=(),
        released=(),
        waves={w: list(e) for w, e in view.waves.items()},
        regions={c.name: policy.labels.value(c.labels, "region") or "" for c in inventory.clusters},
        repo_url=url,
        pins=dict(pins),
    )
    if view.target == "argocd":
        return argocd_emit.render(rollout, policy.argocd, argocd_emit.Strategy.list)
    return flux_emit.render(rollout, policy.flux)


def view_step(
    root: Path,
    target: str,
    before: list[model.Rollout],
    after: list[model.Rollout],
    cache: plancache.PlanCache,
) -> dict[str, bytes] | None:
    """The files of `waves/fleet/<target>/` whose pins move from `before` to `after` (the
    rollouts with one state changed), from the plan cache of the newest rollout; None when
    the full render is needed.

    Exact when the cache stands for the view's inputs: the newest rollout (whose inventory
    and policy the view takes) is the cache's, every inventory cluster is one of its
    members (no `unlisted` wave), no rendered element needs a nested pin (the cache has none
    at its head, nor at its base for its own clusters, and every element runs one of those),
    and the folder holds exactly the files the view generates.
    """
    from planner.emit import stepfiles

    if cache.nested_pins or cache.target != target:
        return None
    old, new = compose_pins(before, target), compose_pins(after, target)
    if old is None or new is None:
        return None
    newest = new.newest
    if (
        newest.id != cache.plan_id
        or old.default != new.default
        or old.newest.membership != newest.membership  # the same waves, listing the same
    ):
        return None
    places = cache.clusters
    if places.keys() != {c for m in newest.membership for c in m.clusters}:
        return None  # (a cluster no membership lists would be in the `unlisted` wave)
    affected = newest.affected()
    if any(
        revision != newest.head and not (revision == newest.base and cluster in affected)
        for cluster, revision in new.revision.items()
        if cluster in places
    ):
        return None
    pinned = old.revision.keys() | old.step_of.keys() | new.revision.keys() | new.step_of.keys()
    changed = {c for c in pinned if c in places and old.pin(c) != new.pin(c)}
    view = view_of(new, places, target)
    rollout = _FleetRollout(
        plan_id="fleet",
        base=view.default,
        head=view.default,
        emergency=None,
        steps=(),
        released=(),
        waves=view.waves,
        regions={name: entry[2] for name, entry in places.items()},
        repo_url=cache.repo_url,
    )
    settings = plancache.settings(cache)
    out = folder(root, target)
    if not rolloutrepo.holds(out, stepfiles.all_paths(rollout, settings)):
        return None
    step = stepfiles.step_files(rollout, settings, changed) if changed else {}
    return step if rolloutrepo.regular(out, step) else None
