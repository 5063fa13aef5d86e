"""Guardrails: the checks that stop wrong targeting before it ships.

Owns `Finding` (a violation or a warning naming the cluster, the values and the files) and
every check: identity consistency (inventory labels against the layers a cluster inherits
and its `cluster-identity` ConfigMap, from generator literals, env files or a plain
manifest), the policy's declarative identity rules, inventory hygiene (missing paths,
unlisted cluster folders, unknown label keys with typo suggestions, shared servers),
hierarchy hygiene (broken YAML, missing or escaping references, absolute paths, symlinks out
of the repository, cycles, a cluster reaching another cluster's folder, a region layer
reaching another environment) and rollout hygiene (empty, shadowing or overlapping waves,
clusters in no wave, a production step with no earlier step for the same layer, with a hint
naming the cluster that would cover it). `plan_findings` runs the checks that concern a
plan's affected clusters; `validate_findings` runs all of them. Every example output is in
docs/guardrails.md. Pure.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from planner import saferegex, yamlsafe
from planner import snapshot as snap_mod
from planner.globs import glob_match
from planner.hierarchy.graph import Hierarchy, HierarchyProblem, NodeKind
from planner.hierarchy.scopes import Scope, classify
from planner.impact import ChangedLayer
from planner.inventory import Cluster, Inventory
from planner.policy import PRODUCTION_VALUES, IdentityRule, RolloutPolicy, default_policy
from planner.snapshot import Snapshot
from planner.waves import Placement, Step, group_value

Severity = Literal["violation", "warning"]
MAX_NAMED = 20


class Finding(BaseModel):
    """One guardrail result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    severity: Severity
    message: str
    cluster: str | None = None
    file: str | None = None
    values: dict[str, str] = Field(default_factory=dict)
    fix: str | None = None


@dataclass(frozen=True)
class Validation:
    """The result of `validate`: every finding over the fleet."""

    findings: list[Finding]
    clusters: int

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]


@dataclass
class Context:
    """What the checks look at: the head hierarchy and snapshot, inventory, policy, plan."""

    head: Hierarchy
    snapshot: Snapshot
    inventory: Inventory
    policy: RolloutPolicy
    placements: Mapping[str, Placement]
    steps: Sequence[Step] = ()
    layers: Sequence[ChangedLayer] = ()
    reasons_layers: Mapping[str, set[str]] = field(default_factory=dict)


def plan_findings(ctx: Context, affected: set[str]) -> list[Finding]:
    """The checks that concern the clusters a change affects."""
    clusters = [c for c in ctx.inventory.clusters if c.name in affected]
    findings = hierarchy_findings(ctx, clusters)
    # a cluster whose path is gone is never dropped silently, affected or not
    findings += _missing_paths(ctx, [c for c in ctx.inventory.clusters if c.name not in affected])
    findings += [f for c in clusters for f in identity_findings(ctx, c)]
    findings += [f for c in clusters for f in rule_findings(ctx.policy.identity.rules, c, ctx)]
    findings += _unplaced(ctx, clusters)
    findings += canary_coverage(ctx)
    return _sorted(findings)


def validate_findings(ctx: Context, *, strict: bool = False) -> list[Finding]:
    """Every check over the whole fleet; `strict` turns warnings into violations."""
    clusters = list(ctx.inventory.clusters)
    findings = hierarchy_findings(ctx, clusters)
    for cluster in clusters:
        findings += identity_findings(ctx, cluster)
        findings += rule_findings(ctx.policy.identity.rules, cluster, ctx)
    findings += _unplaced(ctx, clusters)
    findings += inventory_findings(ctx)
    findings += rollout_findings(ctx)
    if strict:
        findings = [f.model_copy(update={"severity": "violation"}) for f in findings]
    return _sorted(findings)


def _sorted(findings: Iterable[Finding]) -> list[Finding]:
    unique = {f.model_dump_json(): f for f in findings}
    return sorted(
        unique.values(),
        key=lambda f: (f.severity != "violation", f.code, f.cluster or "", f.file or "", f.message),
    )


# ----------------------------------------------------------------------- hierarchy


def hierarchy_findings(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
    """Problems in the repository that the given clusters reach, as violations."""
    roots: dict[str, list[str]] = {}
    for cluster in clusters:
        root = ctx.head.root_of(cluster.gitops_path, cluster.name)
        if root is not None:
            roots.setdefault(root, []).append(cluster.name)
    findings = _missing_paths(ctx, clusters)
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
                    message=f"reference cycle {shown} (reached by {_names(reached)})",
                    file=ctx.head.node(cycle[0]).display,
                    fix="remove one of the references; kustomize refuses cycles",
                )
            )
    findings += [f for c in clusters for f in _cross_cluster(ctx, c)]
    findings += [f for c in clusters for f in _region_crosses_environment(ctx, c)]
    return findings


def _missing_paths(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
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


def _names(names: Sequence[str]) -> str:
    shown = ", ".join(names[:MAX_NAMED])
    return shown + (f" and {len(names) - MAX_NAMED} more" if len(names) > MAX_NAMED else "")


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
        message=f"{problem.file}{where}: {text}; reached by {_names(reached)}",
        cluster=cluster,
        file=problem.file,
        fix=_PROBLEM_FIX.get(problem.code),
    )


def _cross_cluster(ctx: Context, cluster: Cluster) -> list[Finding]:
    """A cluster folder must not read another cluster's folder."""
    root = ctx.head.root_of(cluster.gitops_path, cluster.name)
    if root is None:
        return []
    own = ctx.head.node(root).layer
    others = sorted(
        {
            n.layer
            for n in (ctx.head.node(i) for i in ctx.head.closure(root))
            if n.scope == Scope.CLUSTER
            and n.layer
            and n.layer != own
            and n.layer.rsplit("/", 1)[-1] != cluster.name  # its own folder, generated for it
        }
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
    root = ctx.head.root_of(cluster.gitops_path, cluster.name)
    if root is None:
        return []
    graph = ctx.head
    closure = graph.closure(root)
    region_nodes: dict[str, set[str]] = {}
    for node_id in closure:
        node = graph.node(node_id)
        if node.scope == Scope.REGION and node.layer:
            region_nodes.setdefault(node.layer, set()).add(node_id)
    if not region_nodes:
        return []
    label = ctx.policy.labels.value(cluster.labels, "environment")
    key = ctx.policy.labels.key_of(cluster.labels, "environment") or "environment"
    findings = []
    for region, nodes in sorted(region_nodes.items()):
        via_region: set[str] = set().union(*(graph.closure(n) for n in nodes))
        reached = _layers(graph, via_region, Scope.ENVIRONMENT)
        if label is not None:
            own = label
            foreign = [e for e in reached if not agrees(label, _leaf(e), ctx.policy.identity.match)]
        else:
            direct = _layers(graph, closure - via_region, Scope.ENVIRONMENT)
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


def _layers(graph: Hierarchy, node_ids: Iterable[str], scope: Scope) -> list[str]:
    return sorted(
        {n.layer for n in (graph.node(i) for i in node_ids) if n.scope == scope and n.layer}
    )


def _leaf(layer: str) -> str:
    return layer.rsplit("/", 1)[-1]


# ------------------------------------------------------------------------ identity


@dataclass
class Identity:
    """What a cluster says about itself beyond the inventory."""

    layers: dict[str, list[str]]  # role -> layer folders inherited (environments/x, regions/y)
    literals: dict[str, str]  # CLUSTER_NAME, ENVIRONMENT, REGION, COMPLIANCE
    literal_file: str | None


ROLE_SCOPES = {"environment": Scope.ENVIRONMENT, "region": Scope.REGION}
LITERALS = {"environment": "ENVIRONMENT", "region": "REGION", "compliance": "COMPLIANCE"}


def identity_of(ctx: Context, cluster: Cluster) -> Identity:
    root = ctx.head.root_of(cluster.gitops_path, cluster.name)
    layers: dict[str, list[str]] = {}
    literals: dict[str, str] = {}
    literal_file = None
    if root is None:
        return Identity(layers, literals, literal_file)
    closure = [ctx.head.node(i) for i in ctx.head.closure(root)]
    for role, scope in ROLE_SCOPES.items():
        found = sorted({n.layer for n in closure if n.scope == scope and n.layer})
        if found:
            layers[role] = found
    root_node = ctx.head.node(root)
    doc = ctx.head.kustomization(root)
    if doc is not None:
        literals, literal_file = _generator_literals(
            doc, ctx.policy.identity.configmap, ctx.snapshot, root_node.path
        )
        literal_file = (literal_file or root_node.file) if literals else None
    if not literals:
        literals, literal_file = _configmap_literals(ctx, closure, root_node.path)
    return Identity(layers, literals, literal_file)


def _generator_literals(
    doc: Mapping[str, Any], name: str, snap: Snapshot, folder: str
) -> tuple[dict[str, str], str | None]:
    """The identity ConfigMap's `literals` and `envs` files in a configMapGenerator."""
    literals: dict[str, str] = {}
    env_file = None
    for entry in doc.get("configMapGenerator") or []:
        if not isinstance(entry, Mapping) or entry.get("name") != name:
            continue
        envs_value = entry.get("envs")
        envs: list[Any] = list(envs_value) if isinstance(envs_value, list) else []
        envs.append(entry.get("env"))
        for ref in (e for e in envs if isinstance(e, str) and e.strip()):
            path = snap_mod.join(folder, ref.strip())
            data = None if snap_mod.escapes(path) else snap.read(path)
            if data is not None:
                literals.update(_pairs(data.decode("utf-8", "replace").splitlines()))
                env_file = path
        items = entry.get("literals")
        if isinstance(items, list):
            literals.update(_pairs(i for i in items if isinstance(i, str)))
    return literals, env_file


def _pairs(lines: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` lines (comments and blank lines skipped), quotes stripped."""
    pairs = {}
    for line in lines:
        text = line.strip()
        if text and not text.startswith("#") and "=" in text:
            key, value = text.split("=", 1)
            pairs[key.strip()] = value.strip().strip("\"'")
    return pairs


def _configmap_literals(
    ctx: Context, closure: Iterable[Any], folder: str
) -> tuple[dict[str, str], str | None]:
    """A plain `cluster-identity` ConfigMap manifest inside the cluster's own folder."""
    wanted = ctx.policy.identity.configmap
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    for node in sorted(closure, key=lambda n: n.id):
        if node.kind != NodeKind.FILE or not node.path.startswith(prefix):
            continue
        data = ctx.snapshot.read(node.path)
        if not data or wanted.encode() not in data:
            continue
        try:
            docs = yamlsafe.load_all(data)
        except yamlsafe.YamlError:
            continue
        for doc in docs:
            if not isinstance(doc, Mapping) or doc.get("kind") != "ConfigMap":
                continue
            meta = doc.get("metadata")
            if isinstance(meta, Mapping) and meta.get("name") == wanted:
                values = doc.get("data")
                if isinstance(values, Mapping):
                    return {str(k): str(v) for k, v in values.items()}, node.path
    return {}, None


def agrees(label: str, other: str, mode: str = "prefix") -> bool:
    """`eu-west` agrees with `eu-west-1` (one extends the other at a dash) in prefix mode."""
    if label == other:
        return True
    if mode != "prefix":
        return False
    return other.startswith(label + "-") or label.startswith(other + "-")


def identity_findings(ctx: Context, cluster: Cluster) -> list[Finding]:
    """Inventory labels against inherited layers and the identity ConfigMap."""
    ident = identity_of(ctx, cluster)
    roles, mode = ctx.policy.labels, ctx.policy.identity.match
    findings: list[Finding] = []
    for role in ("environment", "region", "compliance"):
        key = roles.key_of(cluster.labels, role)
        label = cluster.labels[key] if key else None
        inherited = [p.rsplit("/", 1)[-1] for p in ident.layers.get(role, [])]
        if len(inherited) > 1:
            findings.append(
                Finding(
                    code="identity-ambiguous",
                    severity="violation",
                    message=f"{cluster.name} inherits {len(inherited)} {role} layers: "
                    + ", ".join(ident.layers[role]),
                    cluster=cluster.name,
                    file=cluster.gitops_path,
                    values={f"layer:{p}": p.rsplit("/", 1)[-1] for p in ident.layers[role]},
                    fix=f"a cluster inherits exactly one {role} layer",
                )
            )
        if label is not None:
            for layer, value in zip(ident.layers.get(role, []), inherited, strict=True):
                if not agrees(label, value, mode):
                    findings.append(
                        _mismatch(
                            cluster,
                            role,
                            key or role,
                            label,
                            where=f"layer {layer}",
                            value=value,
                            file=layer,
                        )
                    )
            literal = ident.literals.get(LITERALS[role])
            if literal is not None and not agrees(label, literal, mode):
                where = f"{ctx.policy.identity.configmap} {LITERALS[role]}"
                findings.append(
                    _mismatch(
                        cluster,
                        role,
                        key or role,
                        label,
                        where=where,
                        value=literal,
                        file=ident.literal_file or "",
                    )
                )
    declared = ident.literals.get("CLUSTER_NAME")
    if declared is not None and declared != cluster.name:
        findings.append(
            Finding(
                code="identity-mismatch",
                severity="violation",
                message=f"{cluster.name}: its {ctx.policy.identity.configmap} says "
                f"CLUSTER_NAME={declared}",
                cluster=cluster.name,
                file=ident.literal_file,
                values={"inventory.name": cluster.name, "CLUSTER_NAME": declared},
                fix="the cluster folder belongs to another cluster: "
                "fix the inventory path or the folder",
            )
        )
    return findings


def _mismatch(
    cluster: Cluster, role: str, key: str, label: str, *, where: str, value: str, file: str
) -> Finding:
    return Finding(
        code="identity-mismatch",
        severity="violation",
        message=(f"{cluster.name}: inventory says {key}={label} but {where} says {role} {value}"),
        cluster=cluster.name,
        file=file or None,
        values={f"inventory.{key}": label, where: value},
        fix=f"correct the {key} label in the inventory, or the cluster's folder, "
        "so both say the same",
    )


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


def _unplaced(ctx: Context, clusters: Sequence[Cluster]) -> list[Finding]:
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


# ----------------------------------------------------------------------- inventory


def inventory_findings(ctx: Context) -> list[Finding]:
    """Unlisted cluster folders, unknown label keys and shared API servers."""
    findings: list[Finding] = []
    findings += _unlisted_folders(ctx)
    findings += _unknown_keys(ctx)
    findings += _shared_servers(ctx)
    return findings


def _unlisted_folders(ctx: Context) -> list[Finding]:
    listed = {snap_mod.normalize(c.gitops_path) for c in ctx.inventory.clusters}
    patterns = [r.pattern.strip("/") for r in ctx.policy.scopes if r.scope == Scope.CLUSTER]
    folders: set[str] = set()
    for pattern in patterns:
        folders |= _matching_dirs(ctx.snapshot, pattern.split("/"))
    return [
        Finding(
            code="unlisted-cluster-folder",
            severity="warning",
            message=f"{folder} looks like a cluster folder but no inventory cluster uses it",
            file=folder,
            fix="add the cluster to the inventory or remove the folder",
        )
        for folder in sorted(folders - listed)
        if not any(p.startswith(folder + "/") for p in listed)
    ]


def _matching_dirs(snap: Snapshot, pattern: list[str], base: str = ".") -> set[str]:
    if not pattern:
        return {base}
    subdirs, _ = snap.list_dir(base)
    found: set[str] = set()
    for sub in subdirs:
        if glob_match(pattern[0], sub.rsplit("/", 1)[-1]):
            found |= _matching_dirs(snap, pattern[1:], sub)
    return found


def _unknown_keys(ctx: Context) -> list[Finding]:
    known = set(ctx.policy.identity.known_labels)
    for wave in ctx.policy.waves:
        for selector in wave.selectors():
            known |= {r.key for r in selector.requirements()}
        if wave.group_by:
            known.add(wave.group_by)
    for rule in ctx.policy.identity.rules:
        known |= set(rule.require) | ({rule.label} if rule.label else set())
    known |= {c.label for c in ctx.policy.constraints}
    roles = ctx.policy.labels
    candidates = sorted(
        known
        | {
            k
            for role in ("environment", "region", "compliance", "wave")
            for k in roles.keys_for(role)
        }
    )
    findings = []
    used: dict[str, list[str]] = {}
    for cluster in ctx.inventory.clusters:
        for key in cluster.labels:
            if key not in known and not roles.is_known(key):
                used.setdefault(key, []).append(cluster.name)
    for key, names in sorted(used.items()):
        prefix, _, leaf = key.rpartition("/")
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75) or [
            f"{prefix}/{m}" if prefix and "/" not in m else m
            for m in difflib.get_close_matches(leaf, candidates, n=1, cutoff=0.75)
        ]
        hint = f"did you mean {close[0]!r}?" if close else "list it in identity.known_labels"
        findings.append(
            Finding(
                code="unknown-label-key",
                severity="warning",
                message=f"label key {key!r} is used by {_names(sorted(names))} "
                f"but nothing reads it; {hint}",
                cluster=names[0] if len(names) == 1 else None,
                fix=hint,
            )
        )
    return findings


def _shared_servers(ctx: Context) -> list[Finding]:
    by_server: dict[str, list[str]] = {}
    for cluster in ctx.inventory.clusters:
        if cluster.server:
            by_server.setdefault(cluster.server, []).append(cluster.name)
    return [
        Finding(
            code="duplicate-server",
            severity="violation",
            message=f"clusters {', '.join(names)} share the API server {server}",
            values={"server": server},
            fix="each cluster has its own API server: fix the copied entry",
        )
        for server, names in sorted(by_server.items())
        if len(names) > 1
    ]


# ------------------------------------------------------------------------- rollout


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
                message=f"{_names(sorted(names))} match both {first} and {later}; "
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
                        f"({_names(names)}) before any earlier step exercised it",
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
