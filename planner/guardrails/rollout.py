"""Rollout hygiene: empty, shadowing or overlapping waves, and a production step with no
earlier step for the same changed layer (with a hint naming the cluster that would cover
it). Pure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from planner.findings import Finding
from planner.guardrails.context import Context, name_list
from planner.hierarchy.scopes import Scope, classify
from planner.inventory import Cluster
from planner.placement import Step
from planner.policy import PRODUCTION_VALUES, default_policy


def rollout_findings(ctx: Context) -> list[Finding]:
    findings = []
    total = len(ctx.inventory.clusters)
    waves = ctx.policy.waves
    # the built-in policy does not warn about its own waves (no canary label in the fleet)
    built_in = ctx.policy == default_policy(ctx.inventory)
    for index, wave in enumerate(waves):
        matched = [c.name for c in ctx.inventory.clusters if wave.match(c.labels) is not None]
        if not matched and not built_in:
            findings.append(
                Finding(
                    code="empty-wave",
                    severity="warning",
                    message=f"wave {wave.name} ({wave.describe()}) matches no cluster",
                    fix="fix the selector or remove the wave",
                )
            )
        elif len(matched) == total and index < len(waves) - 1:
            findings.append(
                Finding(
                    code="shadowing-wave",
                    severity="warning",
                    message=f"wave {wave.name} matches every cluster: waves after it "
                    f"({', '.join(w.name for w in waves[index + 1 :])}) can never receive one",
                    fix="narrow the selector or move the wave last",
                )
            )
    shadowed: dict[tuple[str, str], list[str]] = {}
    by_design = {w.name for w in waves if _carves_out(w, ctx)}
    catch_all = {w.name for w in waves if any(s.is_empty() for s in w.selectors())}
    for placement in ctx.placements.values():
        for later in placement.also_matches:
            if (
                placement.wave is not None
                and placement.wave not in by_design
                and later not in catch_all
            ):
                shadowed.setdefault((placement.wave, later), []).append(placement.cluster)
    for (first, later), names in sorted(shadowed.items()):
        if len(names) == total:
            continue
        findings.append(
            Finding(
                code="overlapping-waves",
                severity="warning",
                message=f"{name_list(sorted(names))} match both {first} and {later}; "
                f"{first} wins (first match)",
                fix=f"make the selectors of {first} and {later} disjoint",
            )
        )
    return findings


def _carves_out(wave: Any, ctx: Context) -> bool:
    """A canary-style wave: selects only by the rollout-wave label, taking from later waves."""
    keys = {r.key for s in wave.selectors() for r in s.requirements()}
    roles = ctx.policy.labels
    return bool(keys) and all(
        any(k == w or k.endswith("/" + w) for w in roles.keys_for("wave")) for k in keys
    )


def is_production(cluster: Cluster, ctx: Context) -> bool:
    return ctx.policy.labels.value(cluster.labels, "environment") in PRODUCTION_VALUES


def canary_coverage(ctx: Context) -> list[Finding]:
    """A production step must come after a step that exercised the same changed layer."""
    if not ctx.steps or not ctx.reasons_layers:
        return []
    clusters = ctx.inventory.by_name()
    seen_layers: set[str] = set()
    findings = []
    for step in ctx.steps:
        step_layers = set().union(*(ctx.reasons_layers.get(c, set()) for c in step.clusters))
        production = [c for c in step.clusters if is_production(clusters[c], ctx)]
        if production:
            for layer in sorted(step_layers - seen_layers):
                names = [c for c in production if layer in ctx.reasons_layers.get(c, set())]
                if not names or not _coverable(ctx, layer, first=not seen_layers):
                    continue
                findings.append(
                    Finding(
                        code="canary-coverage",
                        severity="warning",
                        message=f"step {step.name} releases {layer} to production "
                        f"({name_list(names)}) before any earlier step exercised it",
                        file=layer,
                        values={"step": step.name, "layer": layer},
                        fix=_coverage_hint(ctx, layer, step, names),
                    )
                )
        seen_layers |= step_layers
    return findings


def _coverable(ctx: Context, layer: str, *, first: bool) -> bool:
    """Whether a missing canary for `layer` is worth a warning.

    A cluster's own folder can only be exercised by that cluster: never. Otherwise only when
    the production step is the first step of the plan (no canary or staging step baked
    anything before it), or a non-production cluster reads the layer and so could have.
    """
    if classify(layer, ctx.policy.scopes)[0] == Scope.CLUSTER:
        return False
    if first:
        return True
    clusters = ctx.inventory.by_name()
    return any(not is_production(clusters[c], ctx) for c in _readers(ctx, layer) if c in clusters)


def _coverage_hint(ctx: Context, layer: str, step: Step, production: Sequence[str]) -> str:
    """Which cluster would cover the layer: a non-production reader first, else a canary."""
    readers = _readers(ctx, layer)
    clusters = ctx.inventory.by_name()
    spare = [c for c in readers if c in clusters and not is_production(clusters[c], ctx)]
    earlier = _earlier_label(ctx, step.wave)
    move = (
        f"label it {earlier}"
        if earlier
        else f"add a wave before {step.wave} (e.g. rollout.wave=canary) and label it so"
    )
    if spare:
        return f"{spare[0]} is not production and reads {layer}: {move}"
    return (
        f"no non-production cluster reads {layer}: take one production reader "
        f"(e.g. {production[0]}) first ({move.replace('it', 'that cluster', 1)}), "
        "or add a staging cluster that reads it"
    )


def _readers(ctx: Context, layer: str) -> list[str]:
    """Inventory clusters whose path reaches any node of `layer`, sorted."""
    graph = ctx.head
    nodes = {n.id for n in graph.nodes() if layer in (n.layer, n.path)}
    reached = graph.reaching(nodes)
    return sorted(
        c.name for c in ctx.inventory.clusters if graph.root_of(c.gitops_path, c.name) in reached
    )


def _earlier_label(ctx: Context, wave: str) -> str | None:
    """`key=value` that places a cluster in the first wave before `wave`, if there is one."""
    for earlier in ctx.policy.waves:
        if earlier.name == wave:
            return None
        for selector in earlier.selectors():
            for requirement in selector.requirements():
                if requirement.operator == "In" and len(requirement.values) == 1:
                    return f"{requirement.key}={requirement.values[0]}"
    return None
