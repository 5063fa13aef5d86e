"""Impact: which clusters a change reaches, and why.

Given the hierarchy at base and at head, the change set and the inventory at both sides,
decides the affected clusters. The rule is sound first: a cluster is affected when its path
reaches a node that owns a changed path, in the graph of either revision (a deleted or
renamed file affects whoever read it at base), or when its inventory entry was added or
retargeted. Every affected cluster carries its reasons: the changed layer, its scope, the
files, and the reference chain from the cluster's path down to the change. A changed file
that reaches no cluster is never dropped silently: it is listed, and the `unowned` rule
decides whether that is a warning, affects every cluster, or is an error. And when some
object in the fleet could pull content in but is not modelled (planner.wiring.notes), a changed file
that reaches no cluster affects every cluster containing such an object: sound, and loud.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planner import changes as changes_mod
from planner import globs
from planner.chains import ChainLink, Chains, chain_link
from planner.changes import ChangeSet
from planner.hierarchy.graph import Hierarchy
from planner.hierarchy.scopes import Scope, classify
from planner.impactconfig import ImpactConfig, UnownedRule
from planner.inventory import Inventory, InventoryDiff
from planner.trusted import trusted
from planner.wiring import percluster
from planner.wiring.notes import WiringNote, under


class Reason(BaseModel):
    """Why one cluster is affected."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: Literal["layer", "inventory", "unowned", "unmodelled"]
    summary: str
    layer: str | None = None
    scope: Scope | None = None
    files: tuple[str, ...] = ()
    revision: Literal["base", "head", "base+head"] | None = None
    chain: tuple[ChainLink, ...] = ()


class ChangedLayer(BaseModel):
    """A layer (folder of the hierarchy) that the change touches."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str
    scope: Scope
    files: tuple[str, ...]
    clusters: int = Field(description="How many clusters reach this layer's changed files.")


class Impact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    affected: dict[str, tuple[Reason, ...]]
    unaffected: tuple[str, ...]
    removed: tuple[str, ...]
    changed_layers: tuple[ChangedLayer, ...]
    unowned: tuple[str, ...] = Field(description="Changed files that reach no cluster.")
    ignored: tuple[str, ...] = Field(description="Unowned files matching an ignore glob.")


_SCOPE_ORDER = {s: i for i, s in enumerate(Scope)}


@dataclass
class _LayerHit:
    files: set[str]
    head_targets: set[str]
    base_targets: set[str]
    scope: Scope


def compute_impact(
    *,
    head: Hierarchy,
    base: Hierarchy,
    changes: ChangeSet,
    inventory: Inventory,
    base_inventory: Inventory,
    inventory_diff: InventoryDiff,
    config: ImpactConfig,
    inventory_paths: Iterable[str] = (),
) -> Impact:
    """Decide the affected clusters (pure)."""
    inventory_set = set(inventory_paths)
    layers, unowned = _layers(head, base, changes, config)
    affected: dict[str, list[Reason]] = {}
    head_names = set(inventory.names())
    roots_head = _roots(head, {c.name: c.gitops_path for c in inventory.clusters})
    expanded = _expanded_reasons(head, base, changes, head_names)
    roots_base = _roots(
        base, {c.name: c.gitops_path for c in base_inventory.clusters if c.name in head_names}
    )
    reached_by: dict[str, set[str]] = {}
    for layer_path, hit in sorted(
        layers.items(), key=lambda kv: (_SCOPE_ORDER[kv[1].scope], kv[0])
    ):
        reached = _reach(head, base, hit, roots_head, roots_base, layer_path)
        reached_by[layer_path] = set(reached)
        for name, reason in reached.items():
            affected.setdefault(name, []).append(reason)
    for name, reasons in expanded.items():
        affected.setdefault(name, []).extend(reasons)
    for name, fields in inventory_diff.retargeted.items():
        affected.setdefault(name, []).append(
            _inventory_reason(name, fields, base_inventory, inventory)
        )
    for name in inventory_diff.added:
        affected.setdefault(name, []).append(
            Reason(kind="inventory", summary="added to the inventory")
        )
    real_unowned = [
        p
        for p in unowned
        if p not in inventory_set and not globs.ignored(p, changes_mod.OWN_OUTPUT)
    ]
    not_ignored = [p for p in real_unowned if not globs.ignored(p, config.ignore)]
    changed = [
        p
        for p in changes.content_paths()
        if p not in inventory_set and not globs.ignored(p, config.ignore)
    ]
    for side, graph, roots in (("head", head, roots_head), ("base", base, roots_base)):
        if side == "base" and base is head:
            continue
        for name, reason in unmodelled_reasons(graph, roots, not_ignored, changed).items():
            if not any(r.kind == "unmodelled" for r in affected.get(name, [])):
                affected.setdefault(name, []).append(reason)
    if config.unowned == UnownedRule.ALL_CLUSTERS and not_ignored:
        for cluster in inventory.clusters:
            affected.setdefault(cluster.name, []).append(
                Reason(
                    kind="unowned",
                    summary="a changed file reaches no cluster; the unowned rule is all-clusters",
                    files=tuple(not_ignored),
                )
            )
    names = inventory.names()
    for name, reasons in expanded.items():
        for reason in reasons:
            assert reason.layer is not None and reason.scope is not None
            hit = layers.setdefault(reason.layer, _LayerHit(set(), set(), set(), reason.scope))
            hit.files.update(reason.files)
            reached_by.setdefault(reason.layer, set()).add(name)
    changed_layers = _one_layer_per_file(layers, reached_by)
    return Impact(
        affected={n: tuple(affected[n]) for n in names if n in affected},
        unaffected=tuple(n for n in names if n not in affected),
        removed=inventory_diff.removed,
        changed_layers=changed_layers,
        unowned=tuple(not_ignored),
        ignored=tuple(p for p in real_unowned if p not in not_ignored),
    )


def _layers(
    head: Hierarchy, base: Hierarchy, changes: ChangeSet, config: ImpactConfig
) -> tuple[dict[str, _LayerHit], list[str]]:
    """Group the nodes owning each changed path by layer; collect paths nobody owns."""
    layers: dict[str, _LayerHit] = {}
    unowned: list[str] = []
    for path in changes.content_paths():
        owners_head, owners_base = head.owners(path), base.owners(path)
        if not owners_head and not owners_base and not percluster.is_expanded(head, base, path):
            unowned.append(path)
            continue
        for graph, owners, side in ((head, owners_head, "head"), (base, owners_base, "base")):
            for node_id in owners:
                layer = graph.layer_of(node_id)
                scope = (
                    graph.node(node_id).scope
                    if graph.node(node_id).layer
                    else classify(layer, graph.rules)[0]
                )
                hit = layers.setdefault(layer, _LayerHit(set(), set(), set(), scope))
                hit.files.add(path)
                (hit.head_targets if side == "head" else hit.base_targets).add(node_id)
    return layers, unowned


def _one_layer_per_file(
    layers: dict[str, _LayerHit], reached_by: dict[str, set[str]]
) -> tuple[ChangedLayer, ...]:
    """The changed layers, each changed file listed under one layer only: the innermost
    layer folder holding it (else the first in scope order). A layer left with no file of
    its own is folded into the layers that list its files (their cluster counts include
    the clusters it reached)."""
    order = sorted(layers, key=lambda p: (_SCOPE_ORDER[layers[p].scope], p))
    owner: dict[str, str] = {}
    for path in sorted({f for h in layers.values() for f in h.files}):
        holding = [p for p in order if path in layers[p].files]
        inside = [p for p in holding if p == "." or path.startswith(p.rstrip("/") + "/")]
        owner[path] = max(inside, key=len) if inside else holding[0]
    result = []
    for p in order:
        files = tuple(sorted(f for f in layers[p].files if owner[f] == p))
        if not files:
            continue
        reached = set(reached_by.get(p, set()))
        for other in order:
            folded = other != p and not any(owner[f] == other for f in layers[other].files)
            if folded and layers[other].files & set(files):
                reached |= reached_by.get(other, set())
        result.append(
            ChangedLayer(path=p, scope=layers[p].scope, files=files, clusters=len(reached))
        )
    return tuple(result)


def _roots(graph: Hierarchy, paths: dict[str, str]) -> dict[str, list[str]]:
    """Cluster names by the node id of their path in `graph`."""
    roots: dict[str, list[str]] = {}
    for name, path in paths.items():
        root = graph.root_of(path, name)
        if root is not None:
            roots.setdefault(root, []).append(name)
    return roots


def _reach(
    head: Hierarchy,
    base: Hierarchy,
    hit: _LayerHit,
    roots_head: dict[str, list[str]],
    roots_base: dict[str, list[str]],
    layer_path: str,
) -> dict[str, Reason]:
    chains_head = Chains(head, hit.head_targets)
    same = base is head and hit.base_targets == hit.head_targets
    chains_base = chains_head if same else Chains(base, hit.base_targets)
    chains: dict[str, tuple[tuple[ChainLink, ...], str]] = {}
    for walk, roots, side in ((chains_base, roots_base, "base"), (chains_head, roots_head, "head")):
        for node_id in walk.hops.keys() & roots.keys():
            for name in roots[node_id]:
                chains[name] = (walk.chain(node_id), "base+head" if name in chains else side)
    files = tuple(sorted(hit.files))
    summaries: dict[str, str] = {}
    found: dict[str, Reason] = {}
    for name, (chain, revision) in chains.items():
        summary = summaries.get(revision)
        if summary is None:
            summary = summaries[revision] = _summary(hit.scope, layer_path, files, revision)
        found[name] = trusted(Reason, kind="layer", summary=summary, layer=layer_path,
            scope=hit.scope, files=files, revision=revision, chain=chain)  # fmt: skip
    return found


def _expanded_reasons(
    head: Hierarchy, base: Hierarchy, changes: ChangeSet, names: set[str]
) -> dict[str, list[Reason]]:
    """Clusters for which a changed ApplicationSet, `fleet.yaml` or generator input file
    now generates something else (compared per cluster, base against head)."""
    found: dict[str, list[Reason]] = {}
    for path in changes.content_paths():
        if not percluster.is_expanded(head, base, path):
            continue
        for key in percluster.expanded_by(head, base, path):
            for name, revision in percluster.changed_clusters(head, base, key).items():
                if name in names:
                    found.setdefault(name, []).append(
                        _expanded_reason(head, base, path, key, name, revision)
                    )
    return found


def _expanded_reason(
    head: Hierarchy,
    base: Hierarchy,
    path: str,
    key: str,
    name: str,
    revision: Literal["base", "head", "base+head"],
) -> Reason:
    graph = head if revision != "base" else base
    node = graph.node(key) if key in graph else None
    layer = node.layer if node is not None and node.layer else snapshot_parent(key)
    scope = classify(layer, graph.rules)[0]
    chain: tuple[ChainLink, ...] = ()
    root = graph.root_of("", name)
    if root is not None and key in graph:
        hops = graph.next_hops([key])
        if root in hops:
            chain = tuple(chain_link(link) for link in graph.chain(root, hops))
    via = "" if key == path else f" (read by {key})"
    return Reason(
        kind="layer",
        summary=f"{path}{via} now generates something else for this cluster"
        + {"base": " (read at base only)", "head": " (read at head only)"}.get(revision, ""),
        layer=layer,
        scope=scope,
        files=(path,),
        revision=revision,
        chain=chain,
    )


def snapshot_parent(path: str) -> str:
    return path.rsplit("/", 1)[0] if "/" in path else "."


def unmodelled_reasons(
    graph: Hierarchy,
    roots: dict[str, list[str]],
    unowned: list[str],
    changed: list[str],
) -> dict[str, Reason]:
    """Clusters affected because they contain an unmodelled object: every such cluster when a
    changed file reaches no cluster; a cluster whose object is known to read below a folder
    (`WiringNote.paths`) when a changed file lies there."""
    notes = graph.unmodelled()
    if not notes:
        return {}
    found: dict[str, Reason] = {}
    for note in notes:
        files = list(unowned)
        if note.paths:
            files += [p for p in changed if any(under(p, f) for f in note.paths)]
        if not files:
            continue
        shown = tuple(sorted(set(files)))
        for node in graph.reaching({note.node}) & roots.keys():
            for name in roots[node]:
                found.setdefault(name, _unmodelled_reason(note, shown))
    return found


def _unmodelled_reason(note: WiringNote, files: tuple[str, ...]) -> Reason:
    what = files[0] if len(files) == 1 else f"{len(files)} files"
    return Reason(
        kind="unmodelled",
        summary=f"{what} changed and {note.tag} ({note.file}) is not modelled: {note.reason}",
        files=files,
    )


def _summary(scope: Scope, layer: str, files: tuple[str, ...], revision: str) -> str:
    what = files[0] if len(files) == 1 else f"{len(files)} files"
    when = {"base": " (read at base only)", "head": " (read at head only)"}.get(revision, "")
    return f"{scope.value} layer {layer} changed: {what}{when}"


def _inventory_reason(
    name: str, fields: tuple[str, ...], base_inventory: Inventory, inventory: Inventory
) -> Reason:
    old, new = base_inventory.by_name()[name], inventory.by_name()[name]
    details = []
    if "labels" in fields:
        keys = sorted(set(old.labels) | set(new.labels))
        diffs = [
            f"{k}: {old.labels.get(k, '-')} -> {new.labels.get(k, '-')}"
            for k in keys
            if old.labels.get(k) != new.labels.get(k)
        ]
        details.append("labels " + ", ".join(diffs))
    if "path" in fields:
        details.append(f"path {old.gitops_path} -> {new.gitops_path}")
    if "server" in fields:
        details.append(f"server {old.server or '-'} -> {new.server or '-'}")
    return Reason(kind="inventory", summary="retargeted in the inventory: " + "; ".join(details))
