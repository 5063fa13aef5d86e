"""The drift check of a rollout: the plan recomputed from the repository (`recompute`), or
the plan cache standing for it when every input digest still matches (`check`)."""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from planner import plancache
from planner.adapters import plancache as plancache_files
from planner.release import drift, model
from planner.release.model import Inputs
from planner.target import Target
from planner.wiring.repourl import resolve_repo_url

if TYPE_CHECKING:  # the planner is imported on first use: `status` with a plan cache that
    # matches needs none of it
    from planner.hierarchy.parsing import ParseCache
    from planner.inventory import Inventory
    from planner.pins.nesting import Pins
    from planner.plan import Plan, PlanInputs
    from planner.policy import RolloutPolicy


class Current(Protocol):
    """What a step's gates and notifications read of the plan's inputs."""

    @property
    def policy(self) -> RolloutPolicy: ...

    @property
    def repo_url(self) -> str | None: ...

    @property
    def inventory(self) -> Inventory: ...


@dataclass(frozen=True)
class Recomputed:
    """The plan recomputed from the repository as it is now, with what rendering needs."""

    plan: Plan
    inventory: Inventory
    policy: RolloutPolicy
    repo_url: str | None
    # nested pins per target, for the targets asked of `recompute` only
    pins: dict[str, dict[tuple[str, str], Pins]] = dataclasses.field(default_factory=dict)

    def pins_of(self, target: str) -> dict[tuple[str, str], Pins]:
        """The nested pins of `target` (computed by `recompute` only when asked for)."""
        if target not in self.pins:
            raise AssertionError(f"the nested pins of {target} were not computed")
        return self.pins[target]


ALL_TARGETS = ("argocd", "flux")


def recompute(
    root: Path,
    base: str | None,
    head: str,
    inputs: Inputs,
    data: plancache_files.InputBytes,
    *,
    policy_label: Path | None = None,
    two_dot: bool = False,
    targets: tuple[str, ...] = ALL_TARGETS,
    parses: ParseCache | None = None,
) -> Recomputed:
    """The plan of base..head with the inventory and policy of the working tree (`data`),
    with the nested pins of `targets`.

    The nested-pin tracer takes the kustomizations the plan parsed from its parse cache
    rather than parsing them again: `parses`, a `HeldParseCache` the caller keeps (and
    releases) to trace more afterwards (the fleet view), else one freed here."""
    from planner import policy as policy_mod
    from planner.api.inputs import Sources, load_policy_file, open_workspace, repo_urls
    from planner.inventory import parse_inventory
    from planner.pins.applied import HeldParseCache
    from planner.plan import plan_change

    workspace = open_workspace(
        Sources(repo=root, base=base, head=head, inventory=root / inputs.inventory, two_dot=two_dot)
    )
    held = parses if parses is not None else HeldParseCache()
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
            cache=held,
        )
        planned = plan_change(plan_inputs)
        pins = _all_pins(plan_inputs, planned, targets) if targets else {}
        return Recomputed(planned, inventory, policy, workspace.repo_url, pins)
    finally:
        if parses is None and isinstance(held, HeldParseCache):
            held.release()
        workspace.close()


def _all_pins(
    inputs: PlanInputs, plan: Plan, targets: tuple[str, ...]
) -> dict[str, dict[tuple[str, str], Pins]]:
    """Nested pins of every cluster at head, and of affected clusters at base, per target."""
    from planner.pins.nesting import PinContext
    from planner.pins.pinning import Wanted, fleet_pins

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
            snaps,
            wanted,
            context,
            target=target,
            flux_namespace=inputs.policy.flux.namespace,
            parses=inputs.cache,
        )
        for target in targets
    }


def worktree_inventory(root: Path, rel: str) -> Inventory:
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
class Checked:
    """The drift check: from the plan cache when every input digest matches, else from the
    plan recomputed in full (`current`)."""

    changes: list[str]
    fingerprint: plancache.Fingerprint
    data: plancache_files.InputBytes
    cache: plancache.PlanCache | None = None
    current: Recomputed | None = None
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


def check(root: Path, state: model.Rollout, *, step: bool = False) -> Checked:
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
            return Checked(changes, fingerprint, data, cache, policy=policy)
    targets = (state.target,) if step else ()  # a step renders its target; status none
    current = recompute(root, state.base, state.head, state.inputs, data, targets=targets)
    observed = drift.observe(current.plan, current.inventory.names())
    return Checked(drift.drift(state, observed), fingerprint, data, current=current)


def cache_of(
    fingerprint: plancache.Fingerprint, current: Recomputed, target: Target
) -> plancache.PlanCache:
    return plancache.build(
        fingerprint,
        current.plan,
        current.inventory,
        current.policy,
        target=target,
        repo_url=_repo_url(current, target),
        nested_pins=any(
            p.pins or p.unpinned or p.plain_folders for p in current.pins_of(target).values()
        ),
    )


def _repo_url(current: Recomputed, target: str) -> str:
    policy = current.policy
    if target == "argocd":
        return resolve_repo_url(policy.argocd.repoURL, current.repo_url, setting="argocd.repoURL")
    return resolve_repo_url(policy.flux.url, current.repo_url, setting="flux.url")


def recompute_drift(root: Path, state: model.Rollout) -> tuple[Recomputed, list[str]]:
    """The plan recomputed in full, and the drift (commands that need the plan itself)."""
    data = plancache_files.read_inputs(root, state.inputs)
    current = recompute(root, state.base, state.head, state.inputs, data, targets=(state.target,))
    observed = drift.observe(current.plan, current.inventory.names())
    return current, drift.drift(state, observed)


def drift_message(state: model.Rollout, changes: list[str]) -> str:
    return (
        f"rollout {state.name} no longer matches the repository: "
        + "; ".join(changes)
        + f". Refusing to guess: restore {state.inputs.inventory}"
        + (f" / {state.inputs.policy}" if state.inputs.policy else "")
        + ", or roll back and start a new rollout"
    )
