"""Precise mode: keep only the traced clusters whose rendered desired state changed.

Tracing (`planner.impact`) is sound but can over-state: a renamed file, a comment or a
reordered list changes files a cluster reads without changing what it deploys. Precise mode
renders every traced cluster at base and at head and compares the rendered objects.

This module owns the decisions, and is pure:

- the *render units* a cluster is made of: its path, plus every folder a Flux
  `Kustomization` or Argo CD `Application` in it pulls in (the hierarchy's follow edges),
  with the files each unit reads and a content address made of their git blob ids, so
  identical units render once and renders can be cached across runs;
- the kustomization kustomize-controller generates for a folder without one;
- the canonical form of a rendered state (documents parsed, canonical JSON, sorted) and the
  objects added, removed and changed between base and head;
- the decision: changed -> stays affected; unchanged -> `traced_unchanged` (and
  unaffected); a render failure at either side -> stays affected with a warning (fail safe);
  an inventory reason (added, retargeted) keeps the cluster without rendering.

Running kustomize is the renderer adapter's job (`planner.adapters.renderer`), reached through
the `Renderer` protocol; Helm charts are never rendered (their files are hashed instead).
"""

from __future__ import annotations

import dataclasses
import fnmatch
import hashlib
import json
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from planner import gitops, kustomize, yamlsafe
from planner.analysis import Analysis
from planner.guardrails import Finding
from planner.hierarchy import Hierarchy, NodeKind
from planner.impact import Reason
from planner.plan import PlanInputs, RenderSummary
from planner.render_diff import ClusterDiff, DiffMemo, cluster_diff
from planner.snapshot import Snapshot

KEY_VERSION = "wave-planner-render-1"
MAX_LISTED = 50
YAML_SUFFIXES = (".yaml", ".yml")

UnitKind = Literal["kustomize", "generated", "manifests", "files", "missing"]
ObjectId = tuple[str, str, str]  # kind, namespace, name


# --------------------------------------------------------------------------- units


@dataclass(frozen=True)
class Unit:
    """One thing rendered for a cluster: a kustomization folder, a generated one, plain
    manifests, a hashed chart folder, or a path that does not exist."""

    kind: UnitKind
    path: str
    files: tuple[tuple[str, str], ...] = ()  # (path, content id) of every file it reads
    links: tuple[tuple[str, str], ...] = ()  # (symbolic link path, target)
    remote: tuple[str, ...] = ()  # remote references: never fetched, so the render fails
    generated: str | None = None  # the kustomization written for a `generated` unit
    error: str | None = None  # decided without rendering (e.g. a manifest does not parse)
    key: str = ""

    @property
    def needs_renderer(self) -> bool:
        return self.kind in ("kustomize", "generated") and not self.remote and not self.error


@dataclass(frozen=True)
class RenderJob:
    """A unit to render and the revision its files are read from."""

    unit: Unit
    snapshot: Snapshot


@dataclass(frozen=True)
class RenderOutput:
    """The renderer's answer for one unit: the YAML it printed, or why it failed."""

    text: str | None = None
    error: str | None = None


class Renderer(Protocol):
    """Renders kustomize units (the adapter: subprocesses, temporary folders, a cache)."""

    def render(self, jobs: Sequence[RenderJob]) -> dict[str, RenderOutput]:
        """Outputs by unit key, one for every job."""
        ...


FLUX_DEFAULT_IGNORE = (
    ".git/",
    ".github/",
    ".circleci/",
    ".travis.yml",
    ".gitlab-ci.yml",
    "*.jpg",
    "*.jpeg",
    "*.gif",
    "*.png",
    "*.wmv",
    "*.flv",
    "*.tar.gz",
    "*.zip",
)


class SourceIgnore:
    """`.sourceignore` rules (gitignore syntax), with Flux's defaults first."""

    def __init__(self, text: str = "") -> None:
        self.rules: list[tuple[bool, bool, bool, str]] = []
        for raw in (*FLUX_DEFAULT_IGNORE, *text.splitlines()):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            negate = line.startswith("!")
            line = line.removeprefix("!")
            dir_only = line.endswith("/")
            line = line.rstrip("/")
            anchored = "/" in line
            self.rules.append((negate, dir_only, anchored, line.lstrip("/")))

    def ignored(self, path: str, is_dir: bool) -> bool:
        parts = path.split("/")
        result = False
        for negate, dir_only, anchored, pattern in self.rules:
            for i in range(1, len(parts) + 1):
                if dir_only and i == len(parts) and not is_dir:
                    continue
                candidate = "/".join(parts[:i]) if anchored else parts[i - 1]
                if fnmatch.fnmatchcase(candidate, pattern):
                    result = not negate
                    break
        return result


def source_ignore(snap: Snapshot) -> SourceIgnore:
    data = snap.read(".sourceignore")
    return SourceIgnore(data.decode("utf-8", errors="replace") if data else "")


class UnitBuilder:
    """The render units of clusters at one revision (memoized: clusters share layers)."""

    def __init__(self, graph: Hierarchy, snap: Snapshot) -> None:
        self.graph = graph
        self.snap = snap
        self.ignore = source_ignore(snap)
        self._units: dict[tuple[str, str | None], tuple[Unit, list[tuple[str, str]]]] = {}
        self._ids: dict[str, str] = {}

    def cluster(self, cluster_path: str, name: str | None = None) -> list[Unit] | None:
        """Every unit of the cluster at `cluster_path`, root first; None when it has no root."""
        root = self.graph.root_of(cluster_path, name)
        if root is None:
            return None
        found: dict[str, Unit] = {}
        pending: list[tuple[str, str | None]] = [(root, None)]
        while pending:
            node_id, mode = pending.pop(0)
            if node_id in found:
                continue
            made = self._unit(node_id, mode)
            if made is None:
                continue
            unit, follows = made
            found[node_id] = unit
            pending.extend(follows)
        return list(found.values())

    def layer(self, node_id: str) -> Unit | None:
        """The unit of one folder rendered on its own (a layer, for pruning)."""
        made = self._unit(node_id, None) if node_id in self.graph else None
        return made[0] if made is not None else None

    def _unit(self, node_id: str, mode: str | None) -> tuple[Unit, list[tuple[str, str]]] | None:
        memo = (node_id, mode)
        if memo not in self._units:
            made = self._make(node_id, mode)
            if made is None:
                return None
            self._units[memo] = made
        return self._units[memo]

    def _make(self, node_id: str, mode: str | None) -> tuple[Unit, list[tuple[str, str]]] | None:
        node = self.graph.node(node_id)
        if node.kind == NodeKind.EXTERNAL:
            return None  # a Flux or Argo CD source outside this repository: not followed
        closure, follows = self._closure(node_id)
        files, links, remote, missing = self._files(closure)
        kind: UnitKind
        generated: str | None = None
        error: str | None = None
        if mode in (gitops.CHART, gitops.FILE) or node.kind == NodeKind.CHART:
            kind = "files"
        elif node.kind == NodeKind.MISSING:
            kind = "missing"
        elif node.kind == NodeKind.KUSTOMIZATION:
            kind = "kustomize"
        elif node.kind == NodeKind.GENERATED:
            kind = "generated"
            generated, error = self._generated(node.path)
        else:  # DIRECTORY (Argo CD plain manifests) or a FILE pulled in as manifests
            kind = "manifests"
        unit = Unit(
            kind=kind,
            path=node.path,
            files=files,
            links=links,
            remote=remote,
            generated=generated,
            error=error,
        )
        unit = dataclasses.replace(unit, key=unit_key(unit, missing))
        return unit, follows

    def _closure(self, start: str) -> tuple[list[str], list[tuple[str, str]]]:
        """Nodes read through kustomize references, and the follow edges leaving them."""
        seen = {start}
        order = [start]
        follows: list[tuple[str, str]] = []
        index = 0
        while index < len(order):
            current = order[index]
            index += 1
            for target in sorted(self.graph.graph.successors(current)):
                mode = self.graph.follow_mode(current, target)
                if mode is not None:
                    follows.append((target, mode))
                    if " " in self.graph.edge(current, target).field:
                        continue  # pulled in by a Flux or Argo CD object only: its own unit
                if target not in seen:
                    seen.add(target)
                    order.append(target)
        return order, follows

    def _files(
        self, closure: Iterable[str]
    ) -> tuple[
        tuple[tuple[str, str], ...], tuple[tuple[str, str], ...], tuple[str, ...], tuple[str, ...]
    ]:
        paths: set[str] = set()
        links: set[tuple[str, str]] = set()
        remote: set[str] = set()
        missing: set[str] = set()
        for node_id in closure:
            node = self.graph.node(node_id)
            if node.kind == NodeKind.EXTERNAL:
                remote.add(node.path)
            elif node.kind == NodeKind.MISSING:
                missing.add(node.path)
            elif node.kind == NodeKind.FILE:
                paths.add(node.path)
            elif node.kind == NodeKind.KUSTOMIZATION and node.file:
                paths.add(node.file)
            elif node.kind == NodeKind.CHART:
                paths.update(self._below(node.path))
            for link in self.graph.graph.nodes[node_id].get("links", ()):
                target = self.snap.symlink_target(link)
                if target is not None:
                    links.add((link, target))
        return (
            self._ids_of(sorted(paths)),
            tuple(sorted(links)),
            tuple(sorted(remote)),
            tuple(sorted(missing)),
        )

    def _below(self, folder: str) -> list[str]:
        prefix = "" if folder == "." else folder + "/"
        return [p for p in self.snap.files() if p.startswith(prefix)]

    def _ids_of(self, paths: list[str]) -> tuple[tuple[str, str], ...]:
        unknown = [p for p in paths if p not in self._ids and self.snap.blob_id(p) is None]
        data = self.snap.read_many(unknown) if unknown else {}
        for path in paths:
            if path not in self._ids:
                blob = self.snap.blob_id(path)
                if blob is None:
                    blob = "sha256:" + hashlib.sha256(data.get(path, b"")).hexdigest()
                self._ids[path] = blob
        return tuple((p, self._ids[p]) for p in paths)

    def _generated(self, folder: str) -> tuple[str | None, str | None]:
        """The kustomization kustomize-controller writes for a folder without one."""
        resources: list[str] = []
        wanted: list[str] = []
        queue = [folder]
        while queue:
            current = queue.pop(0)
            subdirs, files = self.snap.list_dir(current)
            for sub in subdirs:
                if self.ignore.ignored(sub, True):
                    continue
                if _has_kustomization(self.snap, sub):
                    resources.append(sub)
                else:
                    queue.append(sub)
            wanted.extend(
                f for f in files if f.endswith(YAML_SUFFIXES) and not self.ignore.ignored(f, False)
            )
        data = self.snap.read_many(wanted)
        for path in wanted:
            try:
                docs = yamlsafe.load_all(data.get(path, b""))
            except yamlsafe.YamlError as exc:
                return None, f"generated kustomization: cannot parse {path}: {exc}"
            if docs and all(_is_object(d) for d in docs):
                resources.append(path)
        relative = sorted(_relative(p, folder) for p in resources)
        text = yamlsafe.dump(
            {
                "apiVersion": "kustomize.config.k8s.io/v1beta1",
                "kind": "Kustomization",
                "resources": relative,
            }
        )
        return text, None


def _has_kustomization(snap: Snapshot, folder: str) -> bool:
    return any(snap.exists(f"{folder}/{name}") for name in kustomize.KUSTOMIZATION_FILES)


def _is_object(doc: Any) -> bool:
    return isinstance(doc, Mapping) and "kind" in doc and "apiVersion" in doc


def _relative(path: str, folder: str) -> str:
    return path if folder == "." else path[len(folder) + 1 :]


def unit_key(unit: Unit, missing: Iterable[str] = ()) -> str:
    """The content address of a unit: everything its render depends on."""
    text = json.dumps(
        [
            KEY_VERSION,
            unit.kind,
            unit.path,
            unit.files,
            unit.links,
            unit.remote,
            sorted(missing),
            unit.generated,
            unit.error,
        ],
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode()).hexdigest()


# -------------------------------------------------------------------------- states


@dataclass(frozen=True)
class State:
    """A cluster's rendered desired state at one revision."""

    status: Literal["ok", "absent", "error"]
    objects: tuple[tuple[ObjectId, str], ...] = ()  # (identity, canonical JSON), sorted
    error: str | None = None


def canonical(tag: str, doc: Any) -> str:
    return json.dumps({"from": tag, "doc": doc}, sort_keys=True, separators=(",", ":"), default=str)


# kustomize's generator suffix: a ConfigMap or Secret whose content changed gets a new name.
_HASH_SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")


def identity(doc: Any) -> ObjectId:
    """Kind, namespace and name (a generated name's hash suffix shown as `-*`, so an edited
    ConfigMap reads as changed rather than removed and added)."""
    if not isinstance(doc, Mapping):
        return ("(document)", "", "")
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kind = str(doc.get("kind", "") or "")
    name = str(meta.get("name", "") or "")
    if kind in ("ConfigMap", "Secret"):
        name = _HASH_SUFFIX.sub("-*", name)
    return (kind, str(meta.get("namespace", "") or ""), name)


def unit_objects(
    unit: Unit, output: RenderOutput | None, snap: Snapshot
) -> tuple[list[tuple[ObjectId, str]], str | None]:
    """The objects one unit contributes to a cluster's state, or why it cannot say."""
    tag = unit.path
    if unit.error is not None:
        return [], f"{unit.path}: {unit.error}"
    if unit.kind in ("kustomize", "generated") and unit.remote:
        return [], f"{unit.path}: remote resource {unit.remote[0]} is not fetched"
    if unit.kind == "files":
        return [(("(files)", "", unit.path), canonical(tag, {"files": unit.files}))], None
    if unit.kind == "missing":
        return [(("(missing)", "", unit.path), canonical(tag, None))], None
    if unit.kind == "manifests":
        data = snap.read_many(p for p, _ in unit.files)
        docs: list[Any] = []
        for path, _ in unit.files:
            try:
                docs.extend(yamlsafe.load_all(data.get(path, b"")))
            except yamlsafe.YamlError as exc:
                return [], f"{path}: {exc}"
        return [(identity(d), canonical(tag, d)) for d in docs], None
    if output is None or output.text is None:
        error = output.error if output is not None else "not rendered"
        return [], f"{unit.path}: {error}"
    try:
        rendered = yamlsafe.load_all(output.text.encode())
    except yamlsafe.YamlError as exc:
        return [], f"{unit.path}: cannot parse the rendered output: {exc}"
    return [(identity(d), canonical(tag, d)) for d in rendered], None


def cluster_state(
    units: Sequence[Unit] | None, outputs: Mapping[str, RenderOutput], snap: Snapshot
) -> State:
    if units is None or (units and units[0].kind == "missing"):
        return State(status="absent")
    objects: list[tuple[ObjectId, str]] = []
    for unit in units:
        found, error = unit_objects(unit, outputs.get(unit.key), snap)
        if error is not None:
            return State(status="error", error=error)
        objects.extend(found)
    return State(status="ok", objects=tuple(sorted(objects)))


def object_name(ident: ObjectId) -> str:
    kind, namespace, name = ident
    return f"{kind}/{namespace}/{name}" if namespace else f"{kind}/{name}"


def compare(base: State, head: State) -> RenderSummary | None:
    """The objects added, removed and changed; None when the rendered state is the same."""
    errors = [f"at {side}: {st.error}" for side, st in (("base", base), ("head", head)) if st.error]
    if errors:
        return RenderSummary(failed="; ".join(errors))
    if base.status == head.status and base.objects == head.objects:
        return None
    old, new = _grouped(base.objects), _grouped(head.objects)
    added = sorted(object_name(i) for i in new.keys() - old.keys())
    removed = sorted(object_name(i) for i in old.keys() - new.keys())
    changed = sorted(object_name(i) for i in old.keys() & new.keys() if old[i] != new[i])
    lists, omitted = _capped([added, removed, changed])
    return RenderSummary(added=lists[0], removed=lists[1], changed=lists[2], omitted=omitted)


def _grouped(objects: Iterable[tuple[ObjectId, str]]) -> dict[ObjectId, list[str]]:
    grouped: dict[ObjectId, list[str]] = {}
    for ident, text in objects:
        grouped.setdefault(ident, []).append(text)
    return grouped


def _capped(lists: list[list[str]]) -> tuple[list[tuple[str, ...]], int]:
    budget = MAX_LISTED
    out: list[tuple[str, ...]] = []
    omitted = 0
    for names in lists:
        out.append(tuple(names[:budget]))
        omitted += max(0, len(names) - budget)
        budget = max(0, budget - len(names))
    return out, omitted


# ------------------------------------------------------------------------ decision


@dataclass
class PreciseResult:
    """What precise mode changes in a plan."""

    affected: dict[str, tuple[Reason, ...]]
    traced_unchanged: list[str]
    renders: dict[str, RenderSummary]
    findings: list[Finding] = field(default_factory=list)
    rendered_units: int = 0
    diffs: dict[str, ClusterDiff] = field(default_factory=dict)  # rendered, changed clusters


def candidates(analysis: Analysis) -> list[str]:
    """Traced clusters whose fate the render decides (an inventory reason always keeps one)."""
    return sorted(
        name
        for name, reasons in analysis.impact.affected.items()
        if not any(r.kind == "inventory" for r in reasons)
    )


def refine(
    inputs: PlanInputs,
    analysis: Analysis,
    renderer: Renderer,
    *,
    spared: Collection[str] = (),
) -> PreciseResult:
    """Render the candidates at base and head and keep those whose state changed.

    `spared`: candidates already known to render the same (layer pruning); not rendered.
    Each cluster that changed gets its unified diff (`diffs`).
    """
    names = candidates(analysis)
    head_units = UnitBuilder(analysis.head, inputs.head)
    base_units = UnitBuilder(analysis.base, inputs.base)
    base_paths = {c.name: c.gitops_path for c in inputs.base_inventory.clusters}
    head_paths = {c.name: c.gitops_path for c in inputs.inventory.clusters}
    plans: dict[str, tuple[list[Unit] | None, list[Unit] | None]] = {}
    jobs: dict[str, RenderJob] = {}
    for name in names:
        if name in spared:
            continue
        base = base_units.cluster(base_paths[name], name) if name in base_paths else None
        head = head_units.cluster(head_paths[name], name)
        plans[name] = (base, head)
        for units, snap in ((base, inputs.base), (head, inputs.head)):
            for unit in units or ():
                if unit.needs_renderer and unit.key not in jobs:
                    jobs[unit.key] = RenderJob(unit, snap)
    outputs = renderer.render(list(jobs.values())) if jobs else {}
    result = PreciseResult(
        affected=dict(analysis.impact.affected),
        traced_unchanged=[],
        renders={},
        rendered_units=len(jobs),
    )
    memo = DiffMemo()
    for name in names:
        if name in spared:
            del result.affected[name]
            result.traced_unchanged.append(name)
            continue
        base, head = plans[name]
        before = cluster_state(base, outputs, inputs.base)
        after = cluster_state(head, outputs, inputs.head)
        summary = compare(before, after)
        if summary is None:
            del result.affected[name]
            result.traced_unchanged.append(name)
            continue
        result.renders[name] = summary
        if summary.failed is not None:
            result.findings.append(_failure(name, summary.failed))
        else:
            result.diffs[name] = cluster_diff(before.objects, after.objects, memo)
    return result


def _failure(name: str, why: str) -> Finding:
    return Finding(
        code="render-failed",
        severity="warning",
        message=f"{name} could not be rendered ({why}); it stays affected",
        cluster=name,
        fix="render it locally with `kubectl kustomize`; remote resources, Helm charts and "
        "exec plugins are never rendered in precise mode",
    )


def pruned(analysis: Analysis, result: PreciseResult, order: Sequence[str]) -> Analysis:
    """The analysis with the traced-but-unchanged clusters moved to `unaffected`."""
    impact = analysis.impact.model_copy(
        update={
            "affected": {n: result.affected[n] for n in order if n in result.affected},
            "unaffected": tuple(n for n in order if n not in result.affected),
        }
    )
    return Analysis(analysis.head, analysis.base, impact, analysis.placements)
