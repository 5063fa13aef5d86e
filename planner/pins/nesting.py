"""Nested GitOps objects of a cluster's desired state, and the patches that pin them.

Pinning a cluster's entry path to a commit pins the *objects* found there, not what they
apply: a Flux `Kustomization` in `clusters/<c>/` whose `sourceRef` is the bootstrap
`GitRepository` keeps applying `apps/` from the branch tip; an Argo CD child `Application`
with `targetRevision: HEAD` does the same. This module walks what a cluster's entry path
renders at its pinned revision (kustomize resources, Flux's generated kustomization for a
folder without one, Argo CD directory sources), finds every nested object that applies
content of this repository, follows it to any depth, and turns the tree into patches the
controllers apply themselves:

- Flux: `Kustomization.spec.patches` entries (JSON 6902) that point a nested
  Kustomization's `sourceRef` (a HelmRelease's chart `sourceRef`, an ArtifactGenerator's
  `sources[i]`) at the cluster's pinned `GitRepository`, and give the nested Kustomization
  its own `spec.patches` for the next level;
- Argo CD: `source.kustomize.patches` entries that set a child Application's
  `targetRevision` (or `sources[i].targetRevision`) to the pinned revision and give the
  child its own `kustomize.patches` for the next level.

Sources that are not this repository are left alone. What cannot be pinned (a templated
path or source, an ApplicationSet that generates Applications of this repository, a Flux
object under Argo CD, an ExternalArtifact no generator explains) is returned as an
`Unpinned` finding. Patch targets use the names the objects get after kustomize's
`namePrefix`/`nameSuffix`. Pure: reads a `Snapshot` only.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from planner import snapshot
from planner.hierarchy.parsing import ParseCache
from planner.pins.applied import ARGO, FLUX, Applied, AppliedTree
from planner.pins.appsetpins import application_set_ops, source_entries
from planner.snapshot import Snapshot
from planner.wiring import sources
from planner.wiring.artifacts import artifact_path
from planner.yamlsafe import dump_manifest

FLUX_KS_GROUP = "kustomize.toolkit.fluxcd.io"
FLUX_HELM_GROUP = "helm.toolkit.fluxcd.io"
FLUX_EXT_GROUP = "source.extensions.fluxcd.io"
FLUX_SOURCE_GROUP = "source.toolkit.fluxcd.io"
ARGO_GROUP = "argoproj.io"
_SHA = re.compile(r"^[0-9a-f]{40}$")
_MAX_DEPTH = 12


@dataclass(frozen=True)
class Unpinned:
    """A nested object that applies this repository but cannot be pinned."""

    object: str  # e.g. `Kustomization flux-system/apps`
    file: str
    reason: str


@dataclass(frozen=True)
class Pin:
    """One nested object to patch: its final identity and the JSON 6902 operations."""

    group: str
    kind: str
    name: str
    ops: tuple[Mapping[str, Any], ...]

    def entry(self) -> dict[str, Any]:
        """As a `patches` entry (Flux `spec.patches`, Argo CD `kustomize.patches`)."""
        return {
            "patch": dump_manifest(list(self.ops)),
            "target": {"group": self.group, "kind": self.kind, "name": self.name},
        }


@dataclass
class Pins:
    """The patches for one cluster's entry path, and what could not be pinned."""

    pins: list[Pin] = field(default_factory=list)
    unpinned: list[Unpinned] = field(default_factory=list)
    # Argo CD folders patched without a kustomization file of their own (Argo CD applies
    # `source.kustomize.patches` only where there is one)
    plain_folders: list[str] = field(default_factory=list)

    def entries(self) -> list[dict[str, Any]]:
        return [p.entry() for p in self.pins]


@dataclass(frozen=True)
class PinContext:
    """What decides whether a source is this repository, and where pins point."""

    local_names: frozenset[str]  # Flux GitRepository names that always mean this repository
    repo_urls: tuple[str, ...]

    def slugs(self) -> frozenset[str]:
        return frozenset(s for s in (sources.repo_slug(u) for u in self.repo_urls) if s)


class Tracer(AppliedTree):
    """Renders paths of one revision (cached) and computes pins for entry paths."""

    def __init__(
        self, snap: Snapshot, context: PinContext, parses: ParseCache | None = None
    ) -> None:
        super().__init__(snap, parses)
        self.context = context
        self.slugs = context.slugs()
        self._cache: dict[tuple[str, str, str, str], Pins] = {}
        self.pinned_git: dict[str, str] = {}  # GitRepositories pinned by a patch: namespace
        self.missing_generator = False

    # ---- pins --------------------------------------------------------------------
    def pins(self, path: str, mode: str, source: Mapping[str, str], revision: str) -> Pins:
        """The patches that pin everything `path` applies through nested objects."""
        self.missing_generator = False
        found = self._pins(snapshot.normalize(path), mode, source, revision, ())
        if self.missing_generator:  # a generator rendered later may explain it: once more
            self._cache.clear()
            found = self._pins(snapshot.normalize(path), mode, source, revision, ())
        return found

    def _pins(
        self,
        path: str,
        mode: str,
        source: Mapping[str, str],
        revision: str,
        stack: tuple[str, ...],
    ) -> Pins:
        key = (path, mode, source.get("name", "") + "/" + source.get("namespace", ""), revision)
        if key in self._cache and not stack:
            return self._cache[key]
        objects = self.render(path, mode)
        gitrepos = self.gitrepos
        generators = [o for o in objects if _is(o.doc, FLUX_EXT_GROUP, "ArtifactGenerator")]
        found = Pins()
        inner = (*stack, path)
        for obj in objects:
            if _is(obj.doc, "source.toolkit.fluxcd.io", "GitRepository") and self._local_git(
                obj.name, {obj.name: obj}
            ):
                # a GitRepository of this repository applied here follows a branch: pin it
                self.pinned_git[obj.name] = obj.namespace
                op = {"op": "add", "path": "/spec/ref", "value": {"commit": revision}}
                found.pins.append(Pin(FLUX_SOURCE_GROUP, "GitRepository", obj.name, (op,)))
        for obj in objects:
            self._pin_object(obj, mode, source, revision, inner, gitrepos, generators, found)
        if not stack:
            self._cache[key] = found
        return found

    def _flux_source(
        self,
        mode: str,
        source: Mapping[str, str],
        ref: Mapping[str, Any],
        obj: Applied,
        label: str,
        found: Pins,
    ) -> Mapping[str, str] | None:
        """Where a Flux object's pinned source is: the cluster's pinned GitRepository (Flux),
        or, under Argo CD, its own GitRepository when Argo CD applies and pins it."""
        if mode == FLUX:
            return source
        name = str(ref.get("name", "") or "")
        if name in self.pinned_git:
            namespace = self.pinned_git[name] or str(ref.get("namespace", "") or obj.namespace)
            return {"kind": "GitRepository", "name": name, "namespace": namespace}
        found.unpinned.append(
            Unpinned(label, obj.file, f"its GitRepository {name} is not applied (and pinned) here")
        )
        return None

    def _child(
        self, path: str, mode: str, source: Mapping[str, str], revision: str, stack: tuple[str, ...]
    ) -> Pins:
        if path in stack or len(stack) > _MAX_DEPTH:
            return Pins()  # a cycle: the object re-applies a path an ancestor applies
        return self._pins(path, mode, source, revision, stack)

    def _pin_object(
        self,
        obj: Applied,
        mode: str,
        source: Mapping[str, str],
        revision: str,
        stack: tuple[str, ...],
        gitrepos: Mapping[str, Applied],
        generators: Sequence[Applied],
        found: Pins,
    ) -> None:
        doc = obj.doc
        spec = doc.get("spec")
        spec = spec if isinstance(spec, Mapping) else {}
        label = (
            f"{doc.get('kind')} {obj.namespace}/{obj.name}"
            if obj.namespace
            else f"{doc.get('kind')} {obj.name}"
        )
        if _is(doc, FLUX_KS_GROUP, "Kustomization"):
            ref = _mapping(spec.get("sourceRef"))
            kind = str(ref.get("kind", "") or "")
            if kind == "GitRepository" and self._local_git(str(ref.get("name", "")), gitrepos):
                pinned = self._flux_source(mode, source, ref, obj, label, found)
                if pinned is None:
                    return
                source = pinned
                ops: list[dict[str, Any]] = [
                    {"op": "add", "path": "/spec/sourceRef", "value": dict(source)}
                ]
                raw = spec.get("path")
                target = "." if raw in (None, "") else _plain(raw)
                if target is None:
                    found.pins.append(Pin(FLUX_KS_GROUP, "Kustomization", obj.name, tuple(ops)))
                    found.unpinned.append(
                        Unpinned(
                            label,
                            obj.file,
                            f"templated path {raw!r}: what it applies is not traced",
                        )
                    )
                    return
                children = self._child(snapshot.normalize(target), FLUX, source, revision, stack)
                found.unpinned.extend(children.unpinned)
                ops.extend(_nested_patches_op("/spec", spec, children))
                found.pins.append(Pin(FLUX_KS_GROUP, "Kustomization", obj.name, tuple(ops)))
            elif kind == "ExternalArtifact":
                self._pin_artifact_consumer(
                    obj,
                    label,
                    spec,
                    ref,
                    mode,
                    source,
                    revision,
                    stack,
                    gitrepos,
                    generators,
                    found,
                )
            return
        if _is(doc, FLUX_HELM_GROUP, "HelmRelease"):
            ref = _mapping(_mapping(_mapping(spec.get("chart")).get("spec")).get("sourceRef"))
            if ref.get("kind") == "GitRepository" and self._local_git(
                str(ref.get("name", "")), gitrepos
            ):
                pinned = self._flux_source(mode, source, ref, obj, label, found)
                if pinned is None:
                    return
                source = pinned
                op = {"op": "add", "path": "/spec/chart/spec/sourceRef", "value": dict(source)}
                found.pins.append(Pin(FLUX_HELM_GROUP, "HelmRelease", obj.name, (op,)))
            return
        if _is(doc, FLUX_EXT_GROUP, "ArtifactGenerator"):
            ops = []
            for index, src in enumerate(spec.get("sources") or []):
                if (
                    isinstance(src, Mapping)
                    and src.get("kind") == "GitRepository"
                    and self._local_git(str(src.get("name", "")), gitrepos)
                ):
                    pinned = self._flux_source(mode, source, src, obj, label, found)
                    if pinned is None:
                        return
                    value = {"alias": src.get("alias", ""), **dict(source)}
                    ops.append({"op": "replace", "path": f"/spec/sources/{index}", "value": value})
            if ops:
                found.pins.append(Pin(FLUX_EXT_GROUP, "ArtifactGenerator", obj.name, tuple(ops)))
            return
        if _is(doc, ARGO_GROUP, "Application"):
            self._pin_application(obj, label, spec, source, revision, stack, found)
            return
        if _is(doc, ARGO_GROUP, "ApplicationSet"):
            self._pin_application_set(obj, label, spec, revision, found)

    def _pin_application_set(
        self, obj: Applied, label: str, spec: Mapping[str, Any], revision: str, found: Pins
    ) -> None:
        ops, problems = application_set_ops(spec, revision, self._argo_local, self.slugs)
        if problems:
            reason = "an ApplicationSet with " + " and ".join(problems)
            found.unpinned.append(Unpinned(label, obj.file, reason))
        if ops:
            found.pins.append(Pin(ARGO_GROUP, "ApplicationSet", obj.name, tuple(ops)))

    def _pin_artifact_consumer(
        self,
        obj: Applied,
        label: str,
        spec: Mapping[str, Any],
        ref: Mapping[str, Any],
        mode: str,
        source: Mapping[str, str],
        revision: str,
        stack: tuple[str, ...],
        gitrepos: Mapping[str, Applied],
        generators: Sequence[Applied],
        found: Pins,
    ) -> None:
        name = str(ref.get("name", "") or "")
        want = snapshot.normalize(str(spec.get("path", "") or "."))
        known, generator_local, mapped = artifact_path(
            name,
            want,
            [g.doc for g in [*generators, *self.generators]],
            lambda git: self._local_git(git, gitrepos),
        )
        if not known:
            self.missing_generator = True
            found.unpinned.append(
                Unpinned(label, obj.file, f"no ArtifactGenerator makes ExternalArtifact {name}")
            )
            return
        if not generator_local:
            return  # not this repository
        if mapped is None:
            found.unpinned.append(
                Unpinned(label, obj.file, f"ExternalArtifact {name}: its content is not traced")
            )
            return
        if mode != FLUX:
            found.unpinned.append(Unpinned(label, obj.file, "an ExternalArtifact under Argo CD"))
            return
        children = self._child(mapped, FLUX, source, revision, stack)
        found.unpinned.extend(children.unpinned)
        ops = list(_nested_patches_op("/spec", spec, children))
        if ops:
            found.pins.append(Pin(FLUX_KS_GROUP, "Kustomization", obj.name, tuple(ops)))

    def _pin_application(
        self,
        obj: Applied,
        label: str,
        spec: Mapping[str, Any],
        source: Mapping[str, str],
        revision: str,
        stack: tuple[str, ...],
        found: Pins,
    ) -> None:
        ops: list[dict[str, Any]] = []
        for pointer, src in source_entries(spec, "/spec"):
            if not self._argo_local(src):
                continue
            text = str(src.get("targetRevision", "") or "")
            if _SHA.fullmatch(text):
                continue  # already a commit: not following a branch
            if "{{" in text or "{{" in str(src.get("path", "")):
                found.unpinned.append(Unpinned(label, obj.file, "templated source"))
                continue
            ops.append({"op": "add", "path": f"{pointer}/targetRevision", "value": revision})
            target = _plain(src.get("path"))
            if target is None or "chart" in src or "helm" in src:
                continue
            folder = snapshot.normalize(target)
            children = self._child(folder, ARGO, source, revision, stack)
            found.unpinned.extend(children.unpinned)
            found.plain_folders.extend(children.plain_folders)
            if children.pins and self.plain_folder(folder):
                found.plain_folders.append(folder)
            ops.extend(_nested_kustomize_op(pointer, src, children))
        if ops:
            found.pins.append(Pin(ARGO_GROUP, "Application", obj.name, tuple(ops)))

    # ---- sources -----------------------------------------------------------------
    def _local_git(self, name: str, gitrepos: Mapping[str, Applied]) -> bool:
        if name in self.context.local_names:
            return True
        obj = gitrepos.get(name)
        if obj is None:
            return False
        spec = obj.doc.get("spec")
        spec = spec if isinstance(spec, Mapping) else {}
        ref = _mapping(spec.get("ref"))
        if ref.get("commit") or ref.get("tag") or ref.get("semver") or ref.get("name"):
            return False  # a fixed revision: not following the branch
        url = str(spec.get("url", "") or "")
        return bool(self.slugs) and sources.repo_slug(url) in self.slugs

    def _argo_local(self, src: Mapping[str, Any]) -> bool:
        url = str(src.get("repoURL", "") or "")
        if self.slugs:
            return sources.repo_slug(url) in self.slugs
        path = _plain(src.get("path"))
        return path is not None and self.snap.exists(snapshot.normalize(path))


def _nested_patches_op(
    pointer: str, spec: Mapping[str, Any], children: Pins
) -> Iterator[dict[str, Any]]:
    """Give a nested Flux Kustomization its own `spec.patches` (kept, then ours)."""
    if not children.pins:
        return
    existing = spec.get("patches")
    kept = list(existing) if isinstance(existing, list) else []
    yield {"op": "add", "path": f"{pointer}/patches", "value": kept + children.entries()}


def _nested_kustomize_op(
    pointer: str, src: Mapping[str, Any], children: Pins
) -> Iterator[dict[str, Any]]:
    """Give a child Application's source its own `kustomize.patches` (kept, then ours)."""
    if not children.pins:
        return
    custom = src.get("kustomize")
    if isinstance(custom, Mapping):
        existing = custom.get("patches")
        kept = list(existing) if isinstance(existing, list) else []
        yield {
            "op": "add",
            "path": f"{pointer}/kustomize/patches",
            "value": kept + children.entries(),
        }
    else:
        yield {
            "op": "add",
            "path": f"{pointer}/kustomize",
            "value": {"patches": children.entries()},
        }


def _argo_sources(spec: Mapping[str, Any]) -> Iterator[Mapping[str, Any]]:
    if isinstance(spec.get("source"), Mapping):
        yield spec["source"]
    for src in spec.get("sources") or []:
        if isinstance(src, Mapping):
            yield src


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _is(doc: Mapping[str, Any], group: str, kind: str) -> bool:
    return doc.get("kind") == kind and str(doc.get("apiVersion", "") or "").startswith(group + "/")


def _plain(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and "{{" not in value and "$" not in value:
        return value.strip()
    return None
