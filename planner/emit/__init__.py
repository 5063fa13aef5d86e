"""Emitters: a plan, pinned to revisions, as GitOps manifests (Argo CD, Flux).

This package owns the revision-pinning model (docs/rollout-model.md): every inventory
cluster is an element of its wave's manifests (membership is static), carrying the Git
revision it must run. Affected clusters of released steps, and every cluster the change does
not affect, run `head`; affected clusters of steps not yet released stay on `base`.
`pin_elements` computes that; `argocd` and `flux` turn elements into files. Pure.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from planner.inventory import Inventory
from planner.plan import Plan


@dataclass(frozen=True)
class Element:
    """One cluster in one wave's manifests, pinned to a revision."""

    cluster: str
    server: str
    path: str
    revision: str
    wave: str
    step: str  # "" for a cluster this change does not affect


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
