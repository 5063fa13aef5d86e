"""Finding the fleet in a repository: which clusters it declares, where their config lives,
and which labels their layers give them (`wave-planner init`).

Conservative by design: a cluster is drafted only on evidence a controller would act on:

- a Flux bootstrap (`gotk-sync.yaml`): the folder its Kustomization syncs (else the folder
  above `flux-system/`) is one cluster;
- an Argo CD cluster Secret (label `argocd.argoproj.io/secret-type: cluster`);
- a per-cluster folder under a top-level `clusters/` (kustomizations, manifests or Argo CD
  Applications), or under `envs/`, `environments/`, `overlays/` when nothing else names a
  cluster; a folder that another candidate reads is a shared layer, not a cluster;
- a Rancher Fleet target that names a cluster (`clusterName` in `fleet.yaml`
  `targetCustomizations`/`targets`, or a `GitRepo`'s `targets`); label selectors name no
  cluster and draft nothing.

Labels come, in order, from the cluster's `cluster-identity` ConfigMap, from the one
environment or region layer it inherits, and only then from its name or the folders it reads
(marked as guesses). When two sources disagree the label is left out and the conflict
reported, so the draft never contradicts the repository. Pure: callers hand in
a snapshot. Evidence is scanned in `scanning`, clusters decided in `clusters`, labels here.
"""

from __future__ import annotations

from planner import guardrails, inventory
from planner.discover.clusters import find_clusters
from planner.discover.models import (
    CANONICAL,
    ENV_WORDS,
    REGION,
    Candidate,
    Discovery,
    DraftCluster,
    Skipped,
)
from planner.discover.scanning import leaf
from planner.hierarchy.build import build_hierarchy as build
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import DEFAULT_SCOPES, HierarchyConfig, Scope, ScopeRule
from planner.policy import default_policy
from planner.snapshot import Snapshot

__all__ = ["Discovery", "DraftCluster", "Skipped", "discover", "extra_scopes", "find_clusters"]


# ------------------------------------------------------------------------------ labels


def extra_scopes(snap: Snapshot) -> list[ScopeRule]:
    """Scope rules for environment and region folders the default rules do not cover."""
    known = {r.pattern for r in DEFAULT_SCOPES}
    rules = []
    for top, scope in (("envs", Scope.ENVIRONMENT), ("env", Scope.ENVIRONMENT)):
        if snap.is_dir(top) and f"{top}/*" not in known:
            rules.append(ScopeRule(pattern=f"{top}/*", scope=scope))
    return rules


def discover(snap: Snapshot) -> Discovery:
    """Draft the inventory of a repository: clusters, labels, and why."""
    found, skipped, notes = find_clusters(snap)
    result = Discovery(skipped=skipped, notes=notes)
    if not found:
        return result
    scopes = list(DEFAULT_SCOPES)
    candidates = extra_scopes(snap)
    graph = build(snap, [c.path for c in found], HierarchyConfig(scopes=(*scopes, *candidates)))
    # an extra rule is kept only if no cluster would inherit two layers of it
    kept = []
    for rule in candidates:
        if all(len(_layers(graph, c.path, rule)) <= 1 for c in found):
            kept.append(rule)
        else:
            notes.append(
                f"{rule.pattern} not used as {rule.scope.value} layers: a cluster reads two"
            )
    if kept != candidates:
        graph = build(snap, [c.path for c in found], HierarchyConfig(scopes=(*scopes, *kept)))
    result.scopes = kept
    policy = default_policy().model_copy(update={"scopes": (*scopes, *kept)})
    draft = inventory.Inventory(
        clusters=tuple(inventory.Cluster(name=c.name, path=c.path) for c in found)
    )
    ctx = guardrails.Context(
        head=graph, snapshot=snap, inventory=draft, policy=policy, placements={}
    )
    for c, cluster in zip(found, draft.clusters, strict=True):
        result.clusters.append(_labelled(ctx, graph, c, cluster, notes))
    result.notes = notes
    return result


def _layers(graph: Hierarchy, path: str, rule: ScopeRule) -> set[str]:
    root = graph.root_of(path)
    if root is None:
        return set()
    prefix = rule.pattern.split("/")[0] + "/"
    return {
        n.layer
        for n in (graph.node(i) for i in graph.closure(root))
        if n.layer and n.layer.startswith(prefix) and n.scope == rule.scope
    }


def _labelled(
    ctx: guardrails.Context,
    graph: Hierarchy,
    c: Candidate,
    cluster: inventory.Cluster,
    notes: list[str],
) -> DraftCluster:
    ident = guardrails.identity_of(ctx, cluster)
    draft = DraftCluster(
        name=c.name, path=c.path, server=c.server, evidence=c.evidence, guesses=list(c.guesses)
    )
    if c.server:
        draft.label_sources["server"] = c.evidence[-1]
    closure_paths = _closure_paths(graph, c.path)
    for role in ("environment", "region", "compliance"):
        literal = ident.literals.get(guardrails.LITERALS[role])
        layers = ident.layers.get(role, [])
        sources: list[tuple[str, str]] = []
        if literal:
            sources.append((literal, f"{ctx.policy.identity.configmap} in {ident.literal_file}"))
        if len(layers) == 1:
            sources.append((leaf(layers[0]), f"inherits {layers[0]}"))
        labelled = ctx.policy.labels.value(c.secret_labels, role)
        if labelled:
            sources.append((labelled, f"label of its Argo CD cluster Secret {c.secret_file}"))
        elif len(layers) > 1:
            notes.append(f"{c.name}: reads {len(layers)} {role} layers ({', '.join(layers)})")
            continue
        if sources:
            value, why = sources[0]
            if any(not guardrails.agrees(value, v) for v, _ in sources[1:]):
                notes.append(
                    f"{c.name}: {role} left out: "
                    + " but ".join(f"{w} says {v}" for v, w in sources)
                )
                continue
            if _label_ok(value):
                draft.labels[role] = value
                draft.label_sources[role] = why
            continue
        guess = _guess(role, c, closure_paths)
        if guess is not None and _label_ok(guess[0]):
            draft.labels[role] = CANONICAL.get(guess[0], guess[0])
            draft.label_sources[role] = guess[1]
            draft.guesses.append(role)
    declared = ident.literals.get("CLUSTER_NAME")
    if declared and declared != c.name:
        notes.append(
            f"{c.name}: its {ctx.policy.identity.configmap} says CLUSTER_NAME={declared}; "
            "named after the folder, check which is right"
        )
    return draft


def _label_ok(value: str) -> bool:
    try:
        inventory.check_label_value(value)
    except ValueError:
        return False
    return bool(value)


def _closure_paths(graph: Hierarchy, path: str) -> list[str]:
    root = graph.root_of(path)
    if root is None:
        return []
    return sorted({graph.node(n).path for n in graph.closure(root)})


def _guess(role: str, c: Candidate, closure: list[str]) -> tuple[str, str] | None:
    if role == "environment":
        words = [t for t in c.name.split("-") if t in ENV_WORDS]
        if len(set(words)) == 1:
            return words[0], "guess: from the cluster name"
        words = [t for t in c.path.split("/") if t in ENV_WORDS]
        if len(set(words)) == 1:
            return words[0], "guess: from its folder"
        read = {
            part
            for p in closure
            if not (p == c.path or p.startswith(c.path + "/"))
            for part in p.split("/")
            if part in ENV_WORDS
        }
        if len(read) == 1:
            (word,) = read
            return word, f"guess: it reads {word} folders"
        return None
    if role == "region":
        for text in (c.name, c.path):
            match = REGION.search(text)
            if match:
                return match.group(0), "guess: from the cluster name"
    return None
