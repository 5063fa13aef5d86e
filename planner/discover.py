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
reported, so the draft never contradicts the repository. Pure: callers hand in a snapshot.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from planner import guardrails, inventory, yamlsafe
from planner import snapshot as snap_mod
from planner.hierarchy.build import build_hierarchy as build
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import DEFAULT_SCOPES, HierarchyConfig, Scope, ScopeRule
from planner.policy import default_policy
from planner.snapshot import Snapshot

YAML = (".yaml", ".yml")
CLUSTER_DIRS = ("clusters",)
ENV_DIRS = ("envs", "environments", "env", "overlays")
NOT_CLUSTERS = frozenset(
    {"base", "bases", "common", "shared", "components", "templates", "default", "defaults",
     "global", "all", "lib", "libs", "flux-system", "argocd", "bootstrap", "crds", "modules"}
)  # fmt: skip
ENV_WORDS = frozenset(
    {"production", "prod", "staging", "stage", "stg", "dev", "development", "test", "testing",
     "qa", "uat", "preprod", "sandbox", "nonprod", "integration", "canary"}
)  # fmt: skip
_REGION = re.compile(
    r"(?:(?:us|eu|ap|sa|ca|me|af|il|mx|cn)-(?:gov-)?(?:north|south|east|west|central|"
    r"northeast|northwest|southeast|southwest)-\d+|(?:us|europe|asia|australia|northamerica|"
    r"southamerica|me|africa)-(?:north|south|east|west|central|northeast|northwest|southeast|"
    r"southwest)\d+)"
)
CANONICAL = {"prod": "production", "stage": "staging", "stg": "staging"}  # for guesses only
IN_CLUSTER = ("https://kubernetes.default.svc", "https://kubernetes.default.svc:443")
SECRET_LABEL = inventory.ARGOCD_SECRET_TYPE


class DraftCluster(BaseModel):
    """One cluster found in the repository, with the evidence for each field."""

    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    server: str | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    evidence: list[str] = Field(default_factory=list, description="Why this is a cluster.")
    label_sources: dict[str, str] = Field(default_factory=dict, description="Why each label.")
    guesses: list[str] = Field(
        default_factory=list, description="Fields inferred from names, not from layers."
    )


class Skipped(BaseModel):
    """A folder or object that looked like a cluster and why it is not drafted."""

    model_config = ConfigDict(extra="forbid")

    what: str
    reason: str


class Discovery(BaseModel):
    """What `init` found: the clusters, what it left out, and the scope rules it needs."""

    model_config = ConfigDict(extra="forbid")

    clusters: list[DraftCluster] = Field(default_factory=list)
    skipped: list[Skipped] = Field(default_factory=list)
    scopes: list[ScopeRule] = Field(
        default_factory=list, description="Scope rules beyond the defaults (for rollout.yaml)."
    )
    notes: list[str] = Field(default_factory=list)


@dataclass
class _Candidate:
    path: str
    name: str
    evidence: list[str] = field(default_factory=list)
    server: str | None = None
    guesses: list[str] = field(default_factory=list)
    secret_labels: dict[str, str] = field(default_factory=dict)
    secret_file: str = ""


# ------------------------------------------------------------------------------ scanning


def _docs(snap: Snapshot, path: str, needle: bytes | None = None) -> list[Mapping[str, Any]]:
    data = snap.read(path)
    if data is None or (needle is not None and needle not in data):
        return []
    try:
        return [d for d in yamlsafe.load_all(data) if isinstance(d, Mapping)]
    except yamlsafe.YamlError:
        return []


def _yaml_files(snap: Snapshot) -> list[str]:
    return sorted(p for p in snap.files() if p.endswith(YAML) or p.endswith("/Kustomization"))


def _has_yaml(snap: Snapshot, folder: str) -> bool:
    _, files = snap.list_dir(folder)
    return any(f.endswith(YAML) or f.rsplit("/", 1)[-1] == "Kustomization" for f in files)


def _leaf(path: str) -> str:
    return path.rsplit("/", 1)[-1]


def _flux_bootstraps(snap: Snapshot, files: list[str], skipped: list[Skipped]) -> list[_Candidate]:
    found = []
    for path in files:
        if _leaf(path) != "gotk-sync.yaml":
            continue
        folder = snap_mod.parent(snap_mod.parent(path))  # <cluster>/flux-system/gotk-sync.yaml
        for doc in _docs(snap, path):
            spec = doc.get("spec")
            if doc.get("kind") == "Kustomization" and isinstance(spec, Mapping):
                target = snap_mod.normalize(str(spec.get("path") or "."))
                if snap.is_dir(target) and not snap_mod.escapes(target):
                    folder = target
        if folder == ".":
            skipped.append(
                Skipped(
                    what=path,
                    reason="a Flux bootstrap syncing the whole repository: one cluster whose "
                    "name the repository does not say (add it to clusters.yaml with path: .)",
                )
            )
            continue
        found.append(_Candidate(folder, _leaf(folder), [f"Flux bootstrap: {path}"]))
    return found


def _folder_candidates(snap: Snapshot, top: str, skipped: list[Skipped]) -> list[_Candidate]:
    """Folders under `top` (three levels at most) that hold manifests directly."""
    found: list[_Candidate] = []

    def walk(folder: str, depth: int) -> None:
        subdirs, _ = snap.list_dir(folder)
        for sub in subdirs:
            name = _leaf(sub)
            if name.startswith((".", "_")) or name in NOT_CLUSTERS:
                if _has_yaml(snap, sub) and depth == 1:
                    skipped.append(Skipped(what=sub, reason="named like a shared layer"))
                continue
            if _has_yaml(snap, sub):
                found.append(_Candidate(sub, name, [f"per-cluster folder under {top}/"]))
            if depth < 3:
                walk(sub, depth + 1)

    walk(top, 1)
    return found


def _secrets(snap: Snapshot, files: list[str]) -> list[tuple[str, str | None, str, dict[str, str]]]:
    """Argo CD cluster Secrets: (name, server, file, labels)."""
    found = []
    for path in files:
        for doc in _docs(snap, path, SECRET_LABEL.encode()):
            meta = doc.get("metadata") if isinstance(doc.get("metadata"), Mapping) else {}
            assert isinstance(meta, Mapping)
            labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
            assert isinstance(labels, Mapping)
            if doc.get("kind") != "Secret" or labels.get(SECRET_LABEL) != "cluster":
                continue
            fields = inventory._secret_fields(doc)
            name = fields.get("name") or meta.get("name")
            server = fields.get("server")
            if isinstance(name, str):
                extra = {
                    str(k): str(v)
                    for k, v in labels.items()
                    if k != SECRET_LABEL and isinstance(v, str)
                }
                found.append((name, server if isinstance(server, str) else None, path, extra))
    return found


def _fleet_targets(snap: Snapshot, files: list[str]) -> dict[str, list[str]]:
    """Cluster names a Rancher Fleet bundle or GitRepo targets by name -> bundle folders."""
    named: dict[str, list[str]] = {}
    for path in files:
        is_bundle = _leaf(path) == "fleet.yaml"
        for doc in _docs(snap, path, b"clusterName"):
            if is_bundle:
                entries = [doc.get("targetCustomizations"), doc.get("targets")]
            elif doc.get("kind") == "GitRepo" and "fleet.cattle.io" in str(doc.get("apiVersion")):
                spec = doc.get("spec")
                entries = [spec.get("targets")] if isinstance(spec, Mapping) else []
            else:
                continue
            for entry in (e for group in entries if isinstance(group, list) for e in group):
                name = entry.get("clusterName") if isinstance(entry, Mapping) else None
                if isinstance(name, str) and name and "{{" not in name:
                    named.setdefault(name, []).append(snap_mod.parent(path))
    return named


def _app_servers(snap: Snapshot, folder: str) -> set[str]:
    """The destination servers of the Argo CD Applications directly in a folder."""
    servers: set[str] = set()
    _, files = snap.list_dir(folder)
    for path in files:
        for doc in _docs(snap, path, b"destination"):
            spec = doc.get("spec")
            if doc.get("kind") != "Application" or not isinstance(spec, Mapping):
                continue
            dest = spec.get("destination")
            server = dest.get("server") if isinstance(dest, Mapping) else None
            if isinstance(server, str) and "{{" not in server:
                servers.add(server.rstrip("/"))
    return servers


# ------------------------------------------------------------------------------ deciding


def _common(paths: Iterable[str]) -> str:
    parts = [p.split("/") for p in paths]
    if not parts:
        return "."
    prefix = []
    for items in zip(*parts, strict=False):
        if len(set(items)) != 1:
            break
        prefix.append(items[0])
    return "/".join(prefix) or "."


def _ancestors(path: str) -> set[str]:
    found = set()
    while path != ".":
        path = snap_mod.parent(path)
        found.add(path)
    return found


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def _cluster_roots(snap: Snapshot, candidates: list[_Candidate]) -> list[_Candidate]:
    """Candidates that no other candidate reads (a folder another one reads is a layer).

    Linear in the size of the closures: each path a candidate reads outside its own folder
    marks the candidate folders above it as read.
    """
    if len(candidates) < 2:
        return candidates
    graph = build(snap, [c.path for c in candidates], HierarchyConfig())
    paths = {c.path for c in candidates}
    read_by_other: set[str] = set()
    reads_parent: set[str] = set()
    for c in candidates:
        root = graph.root_of(c.path)
        up = snap_mod.parent(c.path)
        for path in {graph.node(n).path for n in (graph.closure(root) if root else ())}:
            if _inside(path, c.path):
                continue
            if up in paths and _inside(path, up):
                reads_parent.add(c.path)
            folder = path
            while True:
                if folder in paths:
                    read_by_other.add(folder)
                if folder == ".":
                    break
                folder = snap_mod.parent(folder)
    kept = []
    for c in candidates:
        if c.path in read_by_other:
            continue
        if snap_mod.parent(c.path) in paths and c.path not in reads_parent:
            continue  # a folder inside a cluster folder that does not build on it
        kept.append(c)
    return kept


def _valid_name(raw: str) -> str | None:
    name = raw.strip().lower().replace("_", "-")
    try:
        return inventory.check_cluster_name(name)
    except ValueError:
        return None


def _unique_names(candidates: list[_Candidate], top: str) -> None:
    """Two folders with the same leaf name: name each by its path below `top`."""
    counts: dict[str, int] = {}
    for c in candidates:
        counts[c.name] = counts.get(c.name, 0) + 1
    for c in candidates:
        if counts[c.name] > 1:
            rel = c.path[len(top) + 1 :] if c.path.startswith(top + "/") else c.path
            c.name = rel.replace("/", "-")


def find_clusters(snap: Snapshot) -> tuple[list[_Candidate], list[Skipped], list[str]]:
    """Every cluster the repository gives evidence for, by name."""
    files = _yaml_files(snap)
    skipped: list[Skipped] = []
    notes: list[str] = []
    secrets = _secrets(snap, files)
    fleet = _fleet_targets(snap, files)
    by_path = _folders(snap, files, skipped)
    if not by_path and not secrets and not fleet:
        by_path = _environment_folders(snap, skipped, notes)
    by_name = _named(by_path, skipped)
    _add_secrets(by_name, secrets, skipped)
    _add_fleet(by_name, fleet, skipped)
    for c in by_name.values():
        if c.server is None:
            servers = {s for s in _app_servers(snap, c.path) if s not in IN_CLUSTER}
            if len(servers) == 1:
                c.server = servers.pop()
                c.evidence.append(f"its Argo CD Applications deploy to {c.server}")
    _drop_shared_servers(list(by_name.values()), notes)
    return sorted(by_name.values(), key=lambda c: c.name), skipped, notes


def _folders(snap: Snapshot, files: list[str], skipped: list[Skipped]) -> dict[str, _Candidate]:
    """Flux bootstrap folders and per-cluster folders under clusters/, by path."""
    by_path: dict[str, _Candidate] = {}
    for c in _flux_bootstraps(snap, files, skipped):
        if c.path in by_path:
            by_path[c.path].evidence += c.evidence
        else:
            by_path[c.path] = c
    for top in CLUSTER_DIRS:
        if not snap.is_dir(top):
            continue
        found = _cluster_roots(snap, _folder_candidates(snap, top, skipped))
        _unique_names(found, top)
        for c in found:
            if c.path in by_path:
                continue  # a Flux bootstrap folder says it more precisely
            if not _ancestors(c.path) & by_path.keys():
                by_path[c.path] = c
    _unique_names(list(by_path.values()), CLUSTER_DIRS[0])
    return by_path


def _environment_folders(
    snap: Snapshot, skipped: list[Skipped], notes: list[str]
) -> dict[str, _Candidate]:
    """envs/*, environments/*, overlays/*: one cluster per folder, when nothing else says."""
    for top in ENV_DIRS:
        if not snap.is_dir(top):
            continue
        found = _cluster_roots(snap, _folder_candidates(snap, top, skipped))
        _unique_names(found, top)
        if found:
            notes.append(
                f"{top}/ read as one cluster per folder: nothing else in the repository "
                "names a cluster"
            )
            for c in found:
                c.evidence = [f"per-environment folder under {top}/ (one cluster each)"]
            return {c.path: c for c in found}
    return {}


def _named(by_path: dict[str, _Candidate], skipped: list[Skipped]) -> dict[str, _Candidate]:
    by_name: dict[str, _Candidate] = {}
    for c in sorted(by_path.values(), key=lambda c: c.path):
        name = _valid_name(c.name)
        if name is None:
            skipped.append(Skipped(what=c.path, reason=f"{c.name!r} is not a valid cluster name"))
            continue
        if name != c.name:
            c.guesses.append("name")
        c.name = name
        if name in by_name:
            skipped.append(
                Skipped(what=c.path, reason=f"a second folder for {name} ({by_name[name].path})")
            )
            continue
        by_name[name] = c
    return by_name


def _add_secrets(
    by_name: dict[str, _Candidate],
    secrets: list[tuple[str, str | None, str, dict[str, str]]],
    skipped: list[Skipped],
) -> None:
    for raw, server, file, labels in secrets:
        name = _valid_name(raw)
        if name is None:
            skipped.append(Skipped(what=file, reason=f"{raw!r} is not a valid cluster name"))
            continue
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = _Candidate(snap_mod.parent(file), name, guesses=["path"])
        found.evidence.append(f"Argo CD cluster Secret: {file}")
        found.secret_labels, found.secret_file = labels, file
        if server and server.rstrip("/") not in IN_CLUSTER:
            found.server = server


def _add_fleet(
    by_name: dict[str, _Candidate], fleet: dict[str, list[str]], skipped: list[Skipped]
) -> None:
    for raw, bundles in sorted(fleet.items()):
        folders = sorted(set(bundles))
        name = _valid_name(raw)
        if name is None:
            skipped.append(Skipped(what=folders[0], reason=f"{raw!r} is not a valid cluster name"))
            continue
        found = by_name.get(name)
        if found is None:
            found = by_name[name] = _Candidate(_common(folders), name)
            if len(folders) > 1:
                found.guesses.append("path")
        found.evidence.append("Rancher Fleet target clusterName in " + ", ".join(folders))


def _drop_shared_servers(found: list[_Candidate], notes: list[str]) -> None:
    by_server: dict[str, list[_Candidate]] = {}
    for c in found:
        if c.server:
            try:
                inventory.check_server(c.server)
            except ValueError:
                notes.append(f"{c.name}: server {c.server!r} left out (not an https URL)")
                c.server = None
                continue
            by_server.setdefault(c.server, []).append(c)
    for server, shared in by_server.items():
        if len(shared) > 1:
            notes.append(f"server {server} left out: {', '.join(c.name for c in shared)} share it")
            for c in shared:
                c.server = None


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
    c: _Candidate,
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
            sources.append((_leaf(layers[0]), f"inherits {layers[0]}"))
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


def _guess(role: str, c: _Candidate, closure: list[str]) -> tuple[str, str] | None:
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
            match = _REGION.search(text)
            if match:
                return match.group(0), "guess: from the cluster name"
    return None
