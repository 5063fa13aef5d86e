"""Hierarchy hygiene: broken YAML, missing or escaping references, absolute paths, symbolic
links out of the repository, cycles, a cluster reaching another cluster's folder, a region
layer reaching another environment. Each is reported for the clusters that reach it. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence

from planner import snapshot as snap_mod
from planner.findings import Finding
from planner.guardrails.context import Context, layers_in, name_list
from planner.guardrails.identity import agrees
from planner.hierarchy.graph import Hierarchy, HierarchyProblem, NodeKind
from planner.hierarchy.scopes import Scope
from planner.inventory import Cluster
from planner.snapshot import Snapshot


def hierarchy_findings(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
    """Problems in the repository that the given clusters reach, as violations."""
    findings = repository_findings(ctx, clusters)
    findings += [f for c in clusters for f in layer_findings(ctx, c)]
    return findings


def repository_findings(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
    """The files and references the given clusters reach: missing paths, problems, cycles."""
    roots: dict[str, list[str]] = {}
    for cluster in clusters:
        root = ctx.root(cluster)
        if root is not None:
            roots.setdefault(root, []).append(cluster.name)
    findings = missing_paths(ctx, clusters)
    for problem in ctx.head.problems:
        if problem.code == "missing-path":
            continue  # reported once per cluster by _missing_paths
        reached = _clusters_reaching(ctx.head, {problem.node}, roots)
        if reached:
            findings.append(_problem_finding(problem, reached))
    for cycle in ctx.head.cycles():
        reached = _clusters_reaching(ctx.head, set(cycle), roots)
        if reached:
            shown = " -> ".join(ctx.head.node(n).display for n in [*cycle, cycle[0]])
            findings.append(
                Finding(
                    code="reference-cycle",
                    severity="violation",
                    message=f"reference cycle {shown} (reached by {name_list(reached)})",
                    file=ctx.head.node(cycle[0]).display,
                    fix="remove one of the references; kustomize refuses cycles",
                )
            )
    return findings


def layer_findings(ctx: Context, cluster: Cluster) -> list[Finding]:
    """The layers one cluster reads: another cluster's folder, a region crossing over."""
    return _cross_cluster(ctx, cluster) + _region_crosses_environment(ctx, cluster)


def missing_paths(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
    """Clusters whose GitOps path does not exist at this revision."""
    findings = []
    for cluster in clusters:
        root = ctx.head.root_of(cluster.gitops_path)
        if root is None or ctx.head.node(root).kind == NodeKind.MISSING:
            nearest, close = _nearest_folder(ctx.snapshot, cluster.gitops_path)
            hint = f"; nearest existing folder: {nearest}" if nearest != "." else ""
            fix = "create the cluster folder or set the cluster's `path` in the inventory"
            if close:
                fix += f" (did you mean {close}?)"
            findings.append(
                Finding(
                    code="missing-path",
                    severity="violation",
                    message=f"{cluster.name}: path {cluster.gitops_path} does not exist{hint}",
                    cluster=cluster.name,
                    file=cluster.gitops_path,
                    values={"nearest": nearest},
                    fix=fix,
                )
            )
    return findings


def _nearest_folder(snap: Snapshot, path: str) -> tuple[str, str | None]:
    """The deepest existing folder above `path`, and a sibling folder with a close name."""

    current = snap_mod.normalize(path)
    while current != ".":
        parent = snap_mod.parent(current)
        if parent == "." or snap.is_dir(parent):
            subdirs, _ = snap.list_dir(parent)
            names = [d.rsplit("/", 1)[-1] for d in subdirs]
            close = difflib.get_close_matches(current.rsplit("/", 1)[-1], names, n=1)
            prefix = "" if parent == "." else parent + "/"
            return parent, (prefix + close[0]) if close else None
        current = parent
    return ".", None


def _clusters_reaching(
    graph: Hierarchy, nodes: set[str], roots: Mapping[str, list[str]]
) -> list[str]:
    return sorted(name for node in graph.reaching(nodes) if node in roots for name in roots[node])


_PROBLEM_FIX = {
    "broken-yaml": "fix the YAML in this file",
    "missing-reference": "create the file or fix the reference",
    "missing-path": "create the cluster folder or fix the cluster's `path` in the inventory",
    "escapes-repo": "reference files inside the repository only",
    "absolute-path": "use a path relative to the kustomization",
    "symlink-outside": "replace the symbolic link with a file inside the repository",
    "not-a-kustomization": "add a kustomization.yaml to that folder or reference its files",
}


def _problem_finding(problem: HierarchyProblem, reached: list[str]) -> Finding:
    where = f" (line {problem.line})" if problem.line else ""
    text = (
        problem.message.removeprefix(f"line {problem.line}: ") if problem.line else problem.message
    )
    cluster = reached[0] if len(reached) == 1 else None
    return Finding(
        code=problem.code,
        severity="violation",
        message=f"{problem.file}{where}: {text}; reached by {name_list(reached)}",
        cluster=cluster,
        file=problem.file,
        fix=_PROBLEM_FIX.get(problem.code),
    )


def _cross_cluster(ctx: Context, cluster: Cluster) -> list[Finding]:
    """A cluster folder must not read another cluster's folder."""
    reach = ctx.reach(cluster)
    if reach is None:
        return []
    own = ctx.head.node(reach.root).layer
    others = sorted(
        layer
        for layer in reach.layers_of(Scope.CLUSTER)
        if layer != own
        and layer.rsplit("/", 1)[-1] != cluster.name  # its own folder, generated for it
    )
    return [
        Finding(
            code="reaches-other-cluster",
            severity="warning",
            message=f"{cluster.name} reads {other}, another cluster's folder",
            cluster=cluster.name,
            file=other,
            fix="move what both clusters share into a shared layer",
        )
        for other in others
    ]


def _region_crosses_environment(ctx: Context, cluster: Cluster) -> list[Finding]:
    """A region layer must not pull in another environment than the cluster's own."""
    reach = ctx.reach(cluster)
    if reach is None or not reach.regions:
        return []
    found_key = ctx.policy.labels.key_of(cluster.labels, "environment")
    label = cluster.labels[found_key] if found_key is not None else None
    key = found_key or "environment"
    findings = []
    for region, nodes in sorted(reach.regions.items()):
        reached = ctx.environments_of(nodes)
        if label is not None:
            own = label
            foreign = [e for e in reached if not agrees(label, _leaf(e), ctx.policy.identity.match)]
        else:
            via_region = frozenset().union(*(ctx.head.closure(n) for n in nodes))
            direct = sorted(layers_in(ctx.head, reach.nodes - via_region, Scope.ENVIRONMENT))
            if not direct:
                continue
            own = ", ".join(_leaf(e) for e in direct)
            foreign = [e for e in reached if e not in direct]
        findings += [
            Finding(
                code="region-crosses-environment",
                severity="warning",
                message=f"{cluster.name}: region layer {region} reaches {env}, but the "
                f"cluster's environment is {own}",
                cluster=cluster.name,
                file=region,
                values={key: own, f"layer {region}": env},
                fix=f"make {region} environment-neutral (the cluster folder picks its "
                "environment), or use a region layer per environment",
            )
            for env in foreign
        ]
    return findings


def _leaf(layer: str) -> str:
    return layer.rsplit("/", 1)[-1]
