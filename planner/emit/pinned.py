"""The plan pinned to revisions: what every emitter writes from.

The revision-pinning model (docs/rollout-model.md): every inventory
cluster is an element of its wave's manifests (membership is static), carrying the Git
revision it must run. Affected clusters of released steps, and every cluster the change does
not affect, run `head`; affected clusters of steps not yet released stay on `base`.
`pin_elements` computes that, `prepare` gathers everything an emitter needs into a
`PinnedPlan`; `planner.emit.argocd` and `planner.emit.flux` turn it into files. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from planner.errors import UserError

if TYPE_CHECKING:  # the planner is imported on first use: a rollout step renders from cache
    from planner.inventory import Inventory, LabelRoles
    from planner.plan import Plan

SHA = re.compile(r"^[0-9a-f]{40}$")
MANAGED_BY = {"app.kubernetes.io/managed-by": "wave-planner"}
WAVE_LABEL = "wave-planner.io/wave"
CLUSTER_LABEL = "wave-planner.io/cluster"
PLAN_ANNOTATION = "wave-planner.io/plan-id"
BASE_ANNOTATION = "wave-planner.io/base"
HEAD_ANNOTATION = "wave-planner.io/head"
RELEASED_ANNOTATION = "wave-planner.io/released"
EMERGENCY_ANNOTATION = "wave-planner.io/emergency"
STEP_ANNOTATION = "wave-planner.io/step"
# Custom resources are stored as JSON in etcd (limit 1.5 MiB). Client-side `kubectl apply`
# keeps a second copy in an annotation, so one object stays below a third of the limit.
MAX_OBJECT_BYTES = 512 * 1024


@dataclass(frozen=True)
class Element:
    """One cluster in one wave's manifests, pinned to a revision."""

    cluster: str
    server: str
    path: str
    revision: str
    wave: str
    step: str  # "" for a cluster this change does not affect


@dataclass(frozen=True)
class PinnedPlan:
    """Everything an emitter writes: the pinned elements of every wave, and plan metadata."""

    plan_id: str
    base: str
    head: str
    emergency: str | None
    steps: tuple[str, ...]  # every step of the plan, in order
    released: tuple[str, ...]  # the released ones, in order
    waves: dict[str, list[Element]]  # policy order, clusters sorted by name
    regions: dict[str, str]  # cluster -> region ("" when it has none): the shard key
    repo_url: str
    # (cluster, revision) -> planner.pins.nesting.Pins: patches pinning nested objects
    pins: dict[tuple[str, str], Any] = field(default_factory=dict)

    def annotations(self) -> dict[str, str]:
        """What every emitted object says about the plan it came from."""
        out = {
            PLAN_ANNOTATION: self.plan_id,
            BASE_ANNOTATION: self.base,
            HEAD_ANNOTATION: self.head,
            RELEASED_ANNOTATION: f"{len(self.released)}/{len(self.steps)}",
        }
        if self.emergency is not None:
            out[EMERGENCY_ANNOTATION] = self.emergency
        return out

    def elements(self) -> list[Element]:
        return [e for wave in self.waves.values() for e in wave]

    def patches(self, element: Element) -> list[dict[str, Any]]:
        """The `patches` entries that pin what `element`'s entry path applies."""
        found = self.pins.get((element.cluster, element.revision))
        return list(found.entries()) if found is not None else []


def released_steps(plan: Plan, released: int | str) -> frozenset[str]:
    """Step names released by `--released K|all` (the first K steps of the plan)."""
    names = [step.name for step in plan.waves]
    if released == "all":
        return frozenset(names)
    count = int(released)
    if count < 0:
        raise ValueError("released must be >= 0")
    return frozenset(names[:count])


def pin_elements(
    plan: Plan, inventory: Inventory, released: Collection[str]
) -> dict[str, list[Element]]:
    """Elements per wave (policy order, clusters sorted), each pinned by the pinning rule."""
    clusters = inventory.by_name()
    step_of = plan.step_of()
    out: dict[str, list[Element]] = {}
    for member in plan.membership:
        elements = []
        for name in member.clusters:
            cluster = clusters[name]
            step = step_of.get(name, "")
            revision = plan.base if step and step not in released else plan.head
            elements.append(
                Element(
                    cluster=name,
                    server=cluster.server or "",
                    path=cluster.gitops_path,
                    revision=revision,
                    wave=member.wave,
                    step=step,
                )
            )
        out[member.wave] = elements
    return out


def parse_released(value: str) -> int | str:
    """`--released K|all` as given on the command line."""
    text = value.strip().lower()
    if text == "all":
        return "all"
    if not text.isdigit():
        raise UserError.single(
            f"--released {value!r} is not a number of steps or `all`",
            key="--released",
            fix="pass --released 0 (nothing released), --released 2, or --released all",
        )
    return int(text)


def unplaced(plan: Plan) -> tuple[str, ...]:
    """Clusters no wave holds: emitting without them would silently drop them."""
    from planner.placement import UNPLACED

    return next((m.clusters for m in plan.membership if m.wave == UNPLACED), ())


def prepare(
    plan: Plan,
    inventory: Inventory,
    roles: LabelRoles,
    released: int | str,
    repo_url: str,
) -> PinnedPlan:
    """Pin every cluster for `--released K|all`; revisions must be full commit SHAs."""
    for what, sha in (("base", plan.base), ("head", plan.head)):
        if not SHA.fullmatch(sha):
            raise UserError.single(
                f"the plan's {what} revision is {sha!r}, not a commit",
                key=f"--{what}",
                fix="emit pins clusters to commits: commit the change and pass --base/--head "
                "(not --worktree or --changed-files without a repository)",
            )
    steps = tuple(step.name for step in plan.waves)
    if released != "all" and int(released) > len(steps):
        raise UserError.single(
            f"--released {released}: the plan has only {len(steps)} step(s)",
            key="--released",
            fix=f"pass a number from 0 to {len(steps)}, or all",
        )
    from planner.placement import UNPLACED

    chosen = released_steps(plan, released)
    waves = pin_elements(plan, inventory, chosen)
    waves.pop(UNPLACED, None)
    return PinnedPlan(
        plan_id=plan.id,
        base=plan.base,
        head=plan.head,
        emergency=plan.emergency.reason if plan.emergency is not None else None,
        steps=steps,
        released=tuple(s for s in steps if s in chosen),
        waves=waves,
        regions={c.name: roles.value(c.labels, "region") or "" for c in inventory.clusters},
        repo_url=repo_url,
    )


def check_object_size(path: str, name: str, size: int, fix: str) -> None:
    """Refuse an emitted object too large for etcd (see MAX_OBJECT_BYTES)."""
    if size > MAX_OBJECT_BYTES:
        raise UserError.single(
            f"{name} would be {size} bytes, over the {MAX_OBJECT_BYTES} byte budget for one "
            "Kubernetes object (etcd stores at most 1.5 MiB)",
            file=path,
            fix=fix,
        )


def cluster_labels(wave: str, cluster: str) -> dict[str, str]:
    """The labels of every object emitted for one cluster (or its template placeholders)."""
    return {**MANAGED_BY, WAVE_LABEL: wave, CLUSTER_LABEL: cluster}
