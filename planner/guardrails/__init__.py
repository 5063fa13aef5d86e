"""Guardrails: the checks that stop wrong targeting before it ships.

Five families of checks, one module each, all returning `planner.findings.Finding`s:
identity consistency (`identity`: inventory labels against the layers a cluster inherits and
its `cluster-identity` ConfigMap), the policy's rules (`rules`: declarative identity rules,
required labels, clusters in no wave), inventory hygiene (`inventory`), hierarchy hygiene
(`hierarchy`) and rollout hygiene (`rollout`). `plan_findings` runs the checks that concern
a plan's affected clusters; `validate_findings` runs all of them. Every example output is in
docs/guardrails.md. Pure.
"""

from __future__ import annotations

from planner.findings import Finding
from planner.guardrails.context import Context, ordered
from planner.guardrails.hierarchy import hierarchy_findings, missing_paths
from planner.guardrails.identity import LITERALS, agrees, identity_findings, identity_of
from planner.guardrails.inventory import inventory_findings
from planner.guardrails.rollout import canary_coverage, rollout_findings
from planner.guardrails.rules import rule_findings, unplaced

__all__ = [
    "LITERALS",
    "Context",
    "agrees",
    "identity_of",
    "plan_findings",
    "validate_findings",
]


def plan_findings(ctx: Context, affected: set[str]) -> list[Finding]:
    """The checks that concern the clusters a change affects."""
    clusters = [c for c in ctx.inventory.clusters if c.name in affected]
    findings = hierarchy_findings(ctx, clusters)
    # a cluster whose path is gone is never dropped silently, affected or not
    findings += missing_paths(ctx, [c for c in ctx.inventory.clusters if c.name not in affected])
    findings += [f for c in clusters for f in identity_findings(ctx, c)]
    findings += [f for c in clusters for f in rule_findings(ctx.policy.identity.rules, c, ctx)]
    findings += unplaced(ctx, clusters)
    findings += canary_coverage(ctx)
    return ordered(findings)


def validate_findings(ctx: Context, *, strict: bool = False) -> list[Finding]:
    """Every check over the whole fleet; `strict` turns warnings into violations."""
    clusters = list(ctx.inventory.clusters)
    findings = hierarchy_findings(ctx, clusters)
    for cluster in clusters:
        findings += identity_findings(ctx, cluster)
        findings += rule_findings(ctx.policy.identity.rules, cluster, ctx)
    findings += unplaced(ctx, clusters)
    findings += inventory_findings(ctx)
    findings += rollout_findings(ctx)
    if strict:
        findings = [f.model_copy(update={"severity": "violation"}) for f in findings]
    return ordered(findings)
