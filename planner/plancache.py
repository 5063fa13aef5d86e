"""A rollout's plan cache: the digests of the plan's inputs, and what commands need of it.

A plan is a pure function of its inputs: the base and head commits, the bytes of the
inventory and of the policy, the repository's `origin` URL (it names "this repository" to
the fleet's own GitOps objects and goes into the manifests) and the tool itself (its
version, the plan format and its code). `rollout start` records a `PlanCache` next to the
state (`waves/<name>/plan-cache.json`): the `Fingerprint` of those inputs, what the drift
check observes of the plan (`planner.release.drift.Observed`: digests, clusters, steps, wave
membership) and what the emitters need of every cluster (server, path, region) and of the
policy (the target's settings and repository URL).

`status`, `advance` and `rollback` first compute the fingerprint again (hash the bytes;
no git history, no YAML). When it equals the recorded one, the plan would be recomputed
identically, so the cached observation stands for it and drift is decided by the same
`planner.release.drift.drift` against the state as after a full recomputation; `advance` renders
only the files of the step it releases (`planner.emit.stepfiles`). When any digest
differs, the plan is recomputed in full and, if nothing drifted, the cache is rewritten.
Pure: the caller reads the bytes.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Collection, Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from planner import __version__
from planner.release.drift import Observed
from planner.target import Target

if TYPE_CHECKING:
    from planner.emit.pinned import PinnedPlan
    from planner.inventory import Inventory
    from planner.plan import Plan
    from planner.policy import ArgoCDSettings, FluxSettings, RolloutPolicy
    from planner.release.model import Rollout

# Bump when the same inputs would give a different plan (new rules, new fields): every
# recorded fingerprint then differs and the next command recomputes the plan.
PLAN_FORMAT = 1
CACHE_FORMAT = "wave-planner plan cache v1"
BUILT_IN_POLICY = "built-in"

_STRICT = ConfigDict(strict=True, extra="forbid", frozen=True)


class Fingerprint(BaseModel):
    """The digests of everything a rollout's plan is computed from."""

    model_config = _STRICT

    tool: str  # version, plan format and a digest of the tool's code
    base: str
    head: str
    inventory: str  # sha256 over the inventory files (paths and bytes)
    policy: str  # sha256 of the policy file's bytes, or `built-in`
    origin: str | None  # the `origin` remote's URL

    def changes(self, other: Fingerprint) -> list[str]:
        """Which inputs differ (names only: a change here only triggers a recomputation)."""
        return [
            name for name in type(self).model_fields if getattr(self, name) != getattr(other, name)
        ]


class PlanCache(BaseModel):
    """The file `waves/<name>/plan-cache.json`."""

    model_config = _STRICT

    format: Literal["wave-planner plan cache v1"] = "wave-planner plan cache v1"
    fingerprint: Fingerprint
    target: Target
    plan_id: str
    policy_digest: str
    inventory_digest: str
    steps: tuple[tuple[str, tuple[str, ...]], ...]  # (step, clusters), plan order
    membership: tuple[tuple[str, tuple[str, ...]], ...]  # (wave, clusters), policy order
    clusters: dict[str, tuple[str, str, str]]  # every inventory cluster: server, path, region
    repo_url: str  # the repository URL the manifests name
    settings: str  # the target's emitter settings (policy `argocd:` or `flux:`), JSON
    nested_pins: bool = False  # nested objects are pinned too (not cached: render in full)
    # What a step needs besides the files (absent in older caches: recompute). Each step's
    # gates as the plan has them: (step, wave, bake, approval), plan order.
    gates: tuple[tuple[str, str, str | None, str], ...] | None = None
    policy: str | None = None  # the policy the plan was computed with, JSON

    def observed(self) -> Observed:
        """What the drift check would observe of the plan these inputs give."""
        return Observed(
            policy_digest=self.policy_digest,
            inventory_digest=self.inventory_digest,
            clusters=frozenset(self.clusters),
            steps=self.steps,
            membership=self.membership,
        )


def tool_version(code_digest: str) -> str:
    return f"{__version__}/plan-{PLAN_FORMAT}/{code_digest}"


def digest_files(files: Mapping[str, bytes]) -> str:
    """sha256 over (path, bytes) pairs in path order; unambiguous (lengths are hashed)."""
    h = hashlib.sha256()
    for path in sorted(files):
        name = path.encode()
        data = files[path]
        h.update(b"%d:%s%d:" % (len(name), name, len(data)))
        h.update(data)
    return h.hexdigest()


def digest_bytes(data: bytes | None) -> str:
    return BUILT_IN_POLICY if data is None else hashlib.sha256(data).hexdigest()


def build(
    fingerprint: Fingerprint,
    plan: Plan,
    inventory: Inventory,
    policy: RolloutPolicy,
    *,
    target: Target,
    repo_url: str,
    nested_pins: bool = False,
) -> PlanCache:
    """The cache of a plan computed from the inputs `fingerprint` digests."""
    roles = policy.labels
    settings = policy.flux if target == "flux" else policy.argocd
    return PlanCache(
        fingerprint=fingerprint,
        target=target,
        plan_id=plan.id,
        policy_digest=plan.policy.digest,
        inventory_digest=plan.inventory.digest,
        steps=tuple((s.name, tuple(s.clusters)) for s in plan.waves),
        membership=tuple((m.wave, tuple(m.clusters)) for m in plan.membership),
        clusters={
            c.name: (c.server or "", c.gitops_path, roles.value(c.labels, "region") or "")
            for c in inventory.clusters
        },
        repo_url=repo_url,
        settings=settings.model_dump_json(),
        nested_pins=nested_pins,
        gates=tuple(
            (s.name, s.wave, s.bake, "required" if s.approval == "required" else "none")
            for s in plan.waves
        ),
        policy=policy.model_dump_json(by_alias=True),
    )


def dump(cache: PlanCache) -> bytes:
    """Deterministic JSON: sorted keys, one line per cluster."""
    data = cache.model_dump(mode="json")
    clusters = data.pop("clusters")
    parts = {key: json.dumps(value, sort_keys=True) for key, value in data.items()}
    rows = ",\n".join(f"  {json.dumps(n)}: {json.dumps(clusters[n])}" for n in sorted(clusters))
    parts["clusters"] = "{\n" + rows + "\n }" if rows else "{}"
    body = ",\n".join(f" {json.dumps(key)}: {parts[key]}" for key in sorted(parts))
    return ("{\n" + body + "\n}\n").encode()


def load(data: bytes) -> PlanCache | None:
    """The cache, or None when it is missing, unreadable or of another format (a miss)."""
    try:
        return PlanCache.model_validate_json(data)
    except (ValidationError, ValueError):
        return None


def usable(cache: PlanCache | None, now: Fingerprint, state: Rollout) -> bool:
    """The cache stands for the plan: same inputs, and recorded for this rollout's plan."""
    return (
        cache is not None
        and cache.fingerprint == now
        and cache.target == state.target
        and cache.plan_id == state.id
        and (state.base, state.head) == (now.base, now.head)
    )


def settings(cache: PlanCache) -> ArgoCDSettings | FluxSettings:
    from planner.policy import ArgoCDSettings, FluxSettings

    model = FluxSettings if cache.target == "flux" else ArgoCDSettings
    return model.model_validate_json(cache.settings)


def gate_specs(
    cache: PlanCache,
) -> list[tuple[str, str, tuple[str, ...], str | None, str]] | None:
    """Each step's (name, wave, clusters, bake, approval) as the plan has them, or None."""
    if cache.gates is None or [g[0] for g in cache.gates] != [name for name, _ in cache.steps]:
        return None
    pairs = zip(cache.gates, cache.steps, strict=True)
    return [
        (name, wave, clusters, bake, approval)
        for (name, wave, bake, approval), (_, clusters) in pairs
    ]


def policy_of(cache: PlanCache) -> RolloutPolicy | None:
    """The policy the plan was computed with, or None (not recorded, or it does not read back
    to the recorded digest: recompute)."""
    from planner.policy import RolloutPolicy

    if cache.policy is None:
        return None
    try:
        policy = RolloutPolicy.model_validate_json(cache.policy)
    except (ValidationError, ValueError):
        return None
    return policy if policy.digest() == cache.policy_digest else None


def emitter_input(cache: PlanCache, state: Rollout, released: Collection[str]) -> PinnedPlan:
    """What `planner.emit.pinned.prepare` gives for the plan, pinned with the released steps."""
    from planner.emit.pinned import Element, PinnedPlan
    from planner.placement import UNPLACED

    step_of = {c: name for name, clusters in cache.steps for c in clusters}
    waves: dict[str, list[Element]] = {}
    for wave, clusters in cache.membership:
        if wave == UNPLACED:
            continue
        elements = []
        for name in clusters:
            server, path, _ = cache.clusters[name]
            step = step_of.get(name, "")
            revision = state.base if step and step not in released else state.head
            elements.append(Element(name, server, path, revision, wave, step))
        waves[wave] = elements
    steps = tuple(name for name, _ in cache.steps)
    return PinnedPlan(
        plan_id=cache.plan_id,
        base=state.base,
        head=state.head,
        emergency=None,
        steps=steps,
        released=tuple(s for s in steps if s in released),
        waves=waves,
        regions={name: entry[2] for name, entry in cache.clusters.items()},
        repo_url=cache.repo_url,
    )


def clusters_of(cache: PlanCache, steps: Iterable[str]) -> frozenset[str]:
    wanted = set(steps)
    return frozenset(c for name, clusters in cache.steps if name in wanted for c in clusters)
