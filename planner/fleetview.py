"""The applied fleet view: one set of pins for the whole fleet, composed from the rollouts.

Argo CD or Flux point at one folder only, `waves/fleet/<target>/`. Its pins come from every
rollout of that target under `waves/`, oldest first (by start time, then name), a later
rollout overriding an earlier one on the clusters it affects:

- an active rollout (pending, in progress, paused, halted) pins its affected clusters by the
  revision-pinning rule: released steps run its head, the others its base;
- a rollout rolled back entirely keeps its affected clusters on its base (nothing of the
  change runs until a new rollout releases it);
- a complete rollout pins nothing any more: it folds into the default;
- every other cluster (in no rollout, or folded) runs the default: the head of the newest
  rollout; a cluster no rollout's membership lists (added to the inventory since) is kept in
  a wave of its own, `unlisted`, never dropped.

Active rollouts never overlap on a cluster (`planner.release.drift.conflicts` refuses that at
start), so the order only matters between finished ones. Membership (which wave lists which
cluster) is the newest rollout's. Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from planner.emit.pinned import Element
from planner.inventory import Inventory
from planner.release import model
from planner.release.model import Rollout

FLEET_DIR = "fleet"  # waves/fleet/<target>/
# Clusters no rollout's membership lists (added to the inventory after the newest rollout
# started): they are in no rollout, so they run the default head, in a wave of their own
# rather than dropped from the folder Argo CD or Flux apply.
UNLISTED_WAVE = "unlisted"


@dataclass(frozen=True)
class FleetView:
    """The composed pins: elements per wave (policy order), and where each pin comes from."""

    target: str
    default: str  # the head every cluster in no rollout runs
    waves: dict[str, list[Element]]
    sources: dict[str, str]  # cluster -> rollout name whose pin it carries ("" for default)

    def revisions(self) -> set[str]:
        return {e.revision for wave in self.waves.values() for e in wave}


def compose(rollouts: Sequence[Rollout], inventory: Inventory, target: str) -> FleetView | None:
    """The fleet view of `target`, or None when no rollout of that target exists."""
    places = {c.name: (c.server or "", c.gitops_path) for c in inventory.clusters}
    return compose_places(rollouts, places, target)


@dataclass(frozen=True)
class Composed:
    """The pins of a fleet view before its elements: the clusters some rollout pins (their
    revision, step and rollout); every other cluster runs `default`, in no step."""

    newest: Rollout  # whose membership and head the view takes
    revision: dict[str, str]
    step_of: dict[str, str]
    source: dict[str, str]

    @property
    def default(self) -> str:
        return self.newest.head

    def pin(self, cluster: str) -> tuple[str, str]:
        """(revision, step) of one cluster's element."""
        return self.revision.get(cluster, self.default), self.step_of.get(cluster, "")


def compose_pins(rollouts: Sequence[Rollout], target: str) -> Composed | None:
    """The pins `compose` gives `target`'s elements (in proportion to the clusters the
    rollouts affect, not to the fleet), or None when no rollout of that target exists."""
    mine = sorted((r for r in rollouts if r.target == target), key=lambda r: (r.started_at, r.name))
    if not mine:
        return None
    revision: dict[str, str] = {}
    step_of: dict[str, str] = {}
    source: dict[str, str] = {}
    for item in mine:
        state = model.state_of(item)
        if state == "complete":
            for cluster in item.affected():
                revision.pop(cluster, None)
                step_of.pop(cluster, None)
                source.pop(cluster, None)
            continue
        pins = model.pins(item)
        for step in item.steps:
            for cluster in step.clusters:
                revision[cluster] = item.base if state == "rolled-back" else pins[cluster]
                step_of[cluster] = step.name
                source[cluster] = item.name
    return Composed(mine[-1], revision, step_of, source)


def compose_places(
    rollouts: Sequence[Rollout], places: Mapping[str, Sequence[str]], target: str
) -> FleetView | None:
    """`compose` from every inventory cluster's (server, path, ...), in inventory order."""
    composed = compose_pins(rollouts, target)
    return None if composed is None else view_of(composed, places, target)


def view_of(composed: Composed, places: Mapping[str, Sequence[str]], target: str) -> FleetView:
    """The elements of the composed pins, for every inventory cluster (server, path, ...)."""
    newest, revision, step_of = composed.newest, composed.revision, composed.step_of
    default = composed.default
    waves: dict[str, list[Element]] = {}
    for member in newest.membership:
        elements = []
        for name in member.clusters:
            found = places.get(name)
            if found is None:
                continue  # gone from the inventory: the rollouts' drift check reports it
            elements.append(
                Element(
                    cluster=name,
                    server=found[0],
                    path=found[1],
                    revision=revision.get(name, default),
                    wave=member.wave,
                    step=step_of.get(name, ""),
                )
            )
        waves[member.wave] = elements
    listed = {e.cluster for elements in waves.values() for e in elements}
    unlisted = [
        Element(
            cluster=name,
            server=found[0],
            path=found[1],
            revision=revision.get(name, default),
            wave=UNLISTED_WAVE,
            step="",
        )
        for name, found in places.items()
        if name not in listed
    ]
    if unlisted:
        waves.setdefault(UNLISTED_WAVE, []).extend(unlisted)
    source = composed.source
    return FleetView(
        target=target,
        default=default,
        waves=waves,
        sources={name: source.get(name, "") for name in places},
    )
