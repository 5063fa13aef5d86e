"""Tracing a change: both hierarchies, the impact on the fleet and every cluster's wave.

`analyse` is the first half of the plan pipeline (`planner.plan.plan_change`): the base and
head graphs (one graph when the change leaves every edge in place), the clusters the change
reaches and why, and the placements. `wiring_findings` and `unowned_findings` say what the
tracing could not follow. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from planner.findings import Finding
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.reuse import edges_unchanged
from planner.impact import Impact, compute_impact
from planner.impactconfig import UnownedRule
from planner.inventory import Inventory, diff_inventories
from planner.placement import Placement, place
from planner.wiring.percluster import cluster_infos

if TYPE_CHECKING:
    from planner.plan import PlanInputs


@dataclass
class Analysis:
    """The intermediate results a plan is made of (kept for explain and graph)."""

    head: Hierarchy
    base: Hierarchy
    impact: Impact
    placements: dict[str, Placement]


def analyse(inputs: PlanInputs) -> Analysis:
    """Build both hierarchies and decide the impact (no waves yet)."""
    config = inputs.policy.hierarchy_config()
    check = inputs.changes.content_paths()
    head = build_hierarchy(
        inputs.head,
        (c.gitops_path for c in inputs.inventory.clusters),
        config,
        repo_urls=inputs.repo_urls,
        check_paths=check,
        cache=inputs.cache,
        clusters=cluster_infos(inputs.inventory.clusters),
        refs=inputs.refs,
    )
    base_roots = [c.gitops_path for c in inputs.base_inventory.clusters]
    if _same_graph(inputs, head, base_roots):
        base = head
    else:
        base = build_hierarchy(
            inputs.base,
            base_roots,
            config,
            repo_urls=inputs.repo_urls,
            cache=inputs.cache,
            clusters=cluster_infos(inputs.base_inventory.clusters),
            refs=inputs.refs,
        )
    impact = compute_impact(
        head=head,
        base=base,
        changes=inputs.changes,
        inventory=inputs.inventory,
        base_inventory=inputs.base_inventory,
        inventory_diff=diff_inventories(inputs.base_inventory, inputs.inventory),
        config=inputs.policy.impact_config(),
        inventory_paths=inputs.inventory_paths,
    )
    return Analysis(head, base, impact, place(inputs.inventory, inputs.policy))


def _same_graph(inputs: PlanInputs, head: Hierarchy, base_roots: Iterable[str]) -> bool:
    """The base graph equals the head graph when the change leaves every edge in place:
    only contents changed, and each changed file that decides edges decides the same ones."""
    if inputs.changes.structural():
        return False
    if set(base_roots) != {c.gitops_path for c in inputs.inventory.clusters}:
        return False
    if (head.cluster_roots or head.expanded) and cluster_infos(
        inputs.base_inventory.clusters
    ) != cluster_infos(inputs.inventory.clusters):
        return False  # generators and bundles select by name, labels and server
    return edges_unchanged(
        head,
        inputs.head,
        inputs.base,
        inputs.changes.content_paths(),
        follow=inputs.policy.hierarchy_config().follow,
        cache=inputs.cache,
    )


def wiring_findings(head: Hierarchy, inventory: Inventory, *, strict: bool) -> list[Finding]:
    """One finding per wiring note (planner.wiring.notes) that some inventory cluster contains:
    `unmodelled-wiring` (a violation under `strict`) and `other-revision` warnings."""
    if not head.wiring:
        return []
    roots: dict[str, list[str]] = {}
    for cluster in inventory.clusters:
        root = head.root_of(cluster.gitops_path)
        if root is not None:
            roots.setdefault(root, []).append(cluster.name)
    findings = []
    for note in head.wiring:
        reached = sorted(
            n for node in head.reaching({note.node}) & roots.keys() for n in roots[node]
        )
        if not reached:
            continue
        shown = ", ".join(reached[:5]) + (
            f" and {len(reached) - 5} more" if len(reached) > 5 else ""
        )
        unmodelled = note.unmodelled
        findings.append(
            Finding(
                code=note.code,
                severity="violation" if unmodelled and strict else "warning",
                message=f"{note.tag} in {note.file}: {note.reason} (in {shown})",
                cluster=reached[0] if len(reached) == 1 else None,
                file=note.file,
                values={"object": note.tag, "reason": note.reason},
                fix=(
                    "the planner cannot tell what it pulls in: a changed file no cluster reaches "
                    "affects the clusters containing it; review them by hand"
                    if unmodelled
                    else "another branch or tag of this repository is not this change: it "
                    "rolls out when that ref moves"
                ),
            )
        )
    return findings


def unowned_findings(impact: Impact, rule: UnownedRule) -> list[Finding]:
    findings = []
    severity = "violation" if rule == UnownedRule.ERROR else "warning"
    for path in impact.unowned:
        findings.append(
            Finding(
                code="reaches-no-cluster",
                severity=severity,
                message=f"{path} changed but no cluster reaches it",
                file=path,
                fix="reference it from a layer, list it in `ignore:`, or set the policy `unowned:`",
            )
        )
    return findings
