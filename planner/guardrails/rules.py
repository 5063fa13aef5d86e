"""Policy rules: the policy's declarative identity rules, required labels, and clusters that
match no wave. Pure.
"""

from __future__ import annotations

from collections.abc import Sequence

from planner import saferegex
from planner.findings import Finding
from planner.guardrails.context import Context
from planner.inventory import Cluster
from planner.placement import group_value
from planner.policy import IdentityRule


def rule_findings(rules: Sequence[IdentityRule], cluster: Cluster, ctx: Context) -> list[Finding]:
    """The policy's declarative identity rules and required labels."""
    roles = ctx.policy.labels
    findings = []
    for required in ctx.policy.identity.required_labels:
        if group_value(cluster, required, roles) == "(none)":
            findings.append(
                Finding(
                    code="identity-rule",
                    severity="violation",
                    message=f"{cluster.name} has no {required} label (required by the policy)",
                    cluster=cluster.name,
                    fix=f"add a {required} label to {cluster.name} in the inventory",
                )
            )
    for rule in rules:
        if rule.name_matches and not saferegex.search(rule.name_matches, cluster.name):
            continue
        if rule.selector is not None and not rule.selector.matches(cluster.labels):
            continue
        for key, wanted in sorted(rule.require.items()):
            actual = group_value(cluster, key, roles)
            if actual != wanted:
                findings.append(_rule_breach(cluster, rule, key, actual, wanted))
        if rule.label is not None:
            actual = group_value(cluster, rule.label, roles)
            if actual not in rule.one_of:
                findings.append(
                    _rule_breach(cluster, rule, rule.label, actual, " | ".join(rule.one_of))
                )
    return findings


def _rule_breach(
    cluster: Cluster, rule: IdentityRule, key: str, actual: str, wanted: str
) -> Finding:
    return Finding(
        code="identity-rule",
        severity="violation",
        message=f"{cluster.name}: {key}={actual} breaks the rule `{rule.describe()}`",
        cluster=cluster.name,
        values={key: actual, "expected": wanted},
        fix=f"set {key}={wanted} for {cluster.name}, or narrow the rule",
    )


def unplaced(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
    return [
        Finding(
            code="no-wave",
            severity="violation",
            message=f"{c.name} matches no wave of the policy",
            cluster=c.name,
            values=dict(sorted(c.labels.items())),
            fix="add a wave whose selector matches its labels, or fix its labels",
        )
        for c in clusters
        if ctx.placements[c.name].wave is None
    ]
