"""Argo CD ApplicationSet expansion: which Applications a set generates, and for which cluster.

`expand(doc, clusters, repo)` evaluates the generators of one ApplicationSet the way the
ApplicationSet controller does, with the inventory playing the part of the cluster Secrets
(a cluster's name, server and labels are the Secret's `name`, `server` and
`metadata.labels`) and `repo` (one revision of this repository) the part of the git
generator's checkout:

- `list` (`elements`), `clusters` (`selector`, `values`), `git` `directories` (globs,
  `exclude`) and `files` (JSON/YAML, flattened or nested), `matrix` (the second generator
  may use the first one's parameters) and `merge` (`mergeKeys`), each with an optional
  `selector` over its parameters and a per-generator `template`;
- the template (`{{name}}` or, with `goTemplate: true`, `{{.name}}`) filled per parameter set.

Every generated Application names the inventory cluster(s) it is deployed to (`targets`):
the cluster whose `destination.server`/`destination.name` it renders to; else the cluster
whose Secret produced the parameters (a `clusters` generator); else nobody in particular
(`targets` empty: the Argo CD that holds the set deploys it to itself).

What cannot be evaluated (an `scmProvider`, `pullRequest`, `plugin` or
`clusterDecisionResource` generator, a git generator on another repository, a
`templatePatch`, a template that does not fill) is returned in `unmodelled` with the reason,
never guessed. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner.wiring import apptemplate
from planner.wiring.appsetgen import (
    CLUSTER_PARAM,
    ClusterInfo,
    Evaluator,
    RepoView,
    Unexpandable,
    deep_merge,
)

__all__ = ["ClusterInfo", "Expansion", "GeneratedApp", "RepoView", "expand"]

IN_CLUSTER = ("https://kubernetes.default.svc", "https://kubernetes.default.svc/")


@dataclass(frozen=True)
class GeneratedApp:
    name: str
    spec: Mapping[str, Any]
    # Inventory clusters it is deployed to; None: the cluster whose Argo CD holds the set
    # (in-cluster); (): a cluster outside the inventory.
    targets: tuple[str, ...] | None

    def fingerprint(self) -> str:
        kept = {k: v for k, v in self.spec.items() if k not in _NOT_CONTENT}
        return json.dumps(kept, sort_keys=True, default=str)


_NOT_CONTENT = ("syncPolicy", "info", "revisionHistoryLimit", "ignoreDifferences")


@dataclass
class Expansion:
    apps: list[GeneratedApp] = field(default_factory=list)
    unmodelled: list[str] = field(default_factory=list)
    inputs: set[str] = field(default_factory=set)  # repository files the generators read
    # The Applications deployed where the set is held (no inventory destination).
    held: list[GeneratedApp] = field(default_factory=list)


def expand(doc: Mapping[str, Any], clusters: Sequence[ClusterInfo], repo: RepoView) -> Expansion:
    """The Applications an ApplicationSet generates (see the module text)."""
    result = Expansion()
    spec = doc.get("spec")
    if not isinstance(spec, Mapping):
        result.unmodelled.append("no spec")
        return result
    go = spec.get("goTemplate") is True
    template = spec.get("template")
    if "templatePatch" in spec:
        result.unmodelled.append("templatePatch is not evaluated")
        return result
    if not isinstance(template, Mapping):
        result.unmodelled.append("no template")
        return result
    generators = spec.get("generators")
    if not isinstance(generators, list) or not generators:
        result.unmodelled.append("no generators")
        return result
    ev = Evaluator(clusters, repo, go, result.inputs)
    index = _Index(clusters)
    for generator in generators:
        try:
            rows = ev.generator(generator)
        except Unexpandable as exc:
            result.unmodelled.append(str(exc))
            continue
        override = generator.get("template") if isinstance(generator, Mapping) else None
        merged = deep_merge(template, override) if isinstance(override, Mapping) else template
        for params in rows:
            try:
                result.apps.append(_application(merged, params, go, index))
            except (Unexpandable, apptemplate.TemplateError) as exc:
                result.unmodelled.append(f"template: {exc}")
                break
    result.apps.sort(key=lambda a: (a.name, str(a.targets), a.fingerprint()))
    result.held = [a for a in result.apps if a.targets is None]
    return result


class _Index:
    """Inventory clusters by server URL and by name (destinations are looked up often)."""

    def __init__(self, clusters: Sequence[ClusterInfo]) -> None:
        self.by_server: dict[str, list[str]] = {}
        for c in clusters:
            if c.server:
                self.by_server.setdefault(_server_key(c.server), []).append(c.name)
        self.names = {c.name for c in clusters}
        self.all_servers = bool(clusters) and all(c.server for c in clusters)


def _server_key(url: str) -> str:
    return url.rstrip("/").lower()


def _application(
    template: Mapping[str, Any], params: Mapping[str, Any], go: bool, index: _Index
) -> GeneratedApp:
    visible = {k: v for k, v in params.items() if k != CLUSTER_PARAM}
    rendered = apptemplate.render_value(template, visible, go)
    left = apptemplate.unresolved(rendered)
    if left is not None:
        raise Unexpandable(f"{left} has no value")
    meta = rendered.get("metadata") if isinstance(rendered, Mapping) else None
    name = str(meta.get("name", "")) if isinstance(meta, Mapping) else ""
    spec = rendered.get("spec") if isinstance(rendered, Mapping) else None
    if not isinstance(spec, Mapping):
        raise Unexpandable("the template has no spec")
    return GeneratedApp(name, spec, _targets(spec, params.get(CLUSTER_PARAM), index))


def _targets(spec: Mapping[str, Any], origin: Any, index: _Index) -> tuple[str, ...] | None:
    dest = spec.get("destination")
    server = name = ""
    if isinstance(dest, Mapping):
        server = str(dest.get("server", "") or "").strip()
        name = str(dest.get("name", "") or "").strip()
    if server in IN_CLUSTER:
        server = ""
    if name == "in-cluster":
        name = ""
    found = set(index.by_server.get(_server_key(server), ())) if server else set()
    if name and name in index.names:
        found.add(name)
    if found:
        return tuple(sorted(found))
    if isinstance(origin, str):
        return (origin,)
    if name or (server and index.all_servers):
        return ()  # a cluster the inventory does not know
    return None
