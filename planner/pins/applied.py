"""What a path of one revision applies: its objects, with the names kustomize gives them.

A best-effort, pure reading of a repository `Snapshot`, for following nested GitOps
objects (`planner.pins.nesting`): a file is its documents (List items expanded); a folder with
a kustomization is its `resources`/`bases`/`components`, with `namePrefix`, `nameSuffix`
and `namespace` applied to the names; a folder without one is what Flux's generated
kustomization holds (every manifest below it, sub-folders with a kustomization as
resources) or, for Argo CD, the manifests directly inside it. Remote references are
external and not read. Every GitRepository seen is remembered (`gitrepos`). Kustomization
files the planner already parsed are taken from its parse cache (`parses`), not parsed again.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from planner import kustomize, snapshot, yamlsafe
from planner.hierarchy.parsing import ParseCache
from planner.snapshot import Snapshot
from planner.wiring.scanner import might_contain_objects

FLUX, ARGO = "flux", "argo"
_MAX_DEPTH = 48


@dataclass(frozen=True)
class Applied:
    doc: Mapping[str, Any]
    file: str
    name: str
    namespace: str


class HeldParseCache(ParseCache):
    """The planner's parse cache, kept past the plan for the nested-pin tracer.

    A plan frees its parse cache once its graphs are built; an emit then traces every
    cluster's kustomizations again at its pinned revision. Planned with this cache, the
    tracer takes them as parsed (with their references); `release` frees it.
    """

    def clear(self) -> None:
        """Kept: the tracer reads it after the plan (see `release`)."""

    def release(self) -> None:
        super().clear()


class AppliedTree:
    """Renders paths of one revision (cached)."""

    def __init__(self, snap: Snapshot, parses: ParseCache | None = None) -> None:
        self.snap = snap
        self.parses = parses  # what the planner parsed, by (path, blob id)
        self._docs: dict[str, list[Any] | None] = {}
        self._renders: dict[tuple[str, str], list[Applied]] = {}
        self.gitrepos: dict[str, Applied] = {}  # every GitRepository rendered so far
        self.generators: list[Applied] = []  # every ArtifactGenerator rendered so far

    # ---- reading -----------------------------------------------------------------
    def _parse(self, path: str, *, objects: bool = False) -> list[Any] | None:
        """The documents of a file; with `objects`, [] for a file that declares no GitOps
        object at all (not worth parsing: it can hold nothing to pin)."""
        if path not in self._docs:
            data = self.snap.read(path)
            if objects and data is not None and not _may_hold_gitops(data):
                self._docs[path] = []
                return self._docs[path]
            try:
                self._docs[path] = yamlsafe.load_all(data) if data is not None else None
            except yamlsafe.YamlError:
                self._docs[path] = None
        return self._docs[path]

    def _kustomization(self, kfile: str) -> tuple[Mapping[str, Any], list[kustomize.Reference]]:
        """A kustomization's mapping and references ({} and [] when it is not one mapping)."""
        parsed = None
        if self.parses is not None and kfile not in self._docs:
            parsed = self.parses.get(kfile, self.snap.blob_id(kfile))
        if parsed is not None:
            docs: list[Any] = parsed.docs if parsed.error is None else []
        else:
            docs = self._parse(kfile) or []
        if len(docs) != 1 or not isinstance(docs[0], Mapping):
            return {}, []
        if parsed is None:
            return docs[0], kustomize.references(docs[0])
        if parsed.refs is None:
            parsed.refs = kustomize.references(docs[0])
        return docs[0], parsed.refs

    def _kfile(self, directory: str) -> str | None:
        return kustomize.kustomization_file(self.snap, directory)

    def plain_folder(self, path: str) -> bool:
        """A folder without a kustomization file."""
        return self.snap.is_dir(path) and self._kfile(path) is None

    def render(self, path: str, mode: str, depth: int = 0) -> list[Applied]:
        """The objects `path` renders to (names after namePrefix/nameSuffix), best effort."""
        key = (path, mode)
        if key not in self._renders:
            found = [] if depth > _MAX_DEPTH else self._render(path, mode, depth)
            self._renders[key] = found
            for obj in found:
                if _is_gitrepository(obj.doc):
                    self.gitrepos.setdefault(obj.name, obj)
                elif obj.doc.get("kind") == "ArtifactGenerator":
                    self.generators.append(obj)
        return self._renders[key]

    def _render(self, path: str, mode: str, depth: int) -> list[Applied]:
        if snapshot.escapes(path) or not self.snap.exists(path):
            return []
        if not self.snap.is_dir(path):
            return list(self._file_objects(path))
        kfile = self._kfile(path)
        if kfile is not None:
            return self._render_kustomization(path, kfile, depth)
        if mode == ARGO:
            _, files = self.snap.list_dir(path)
            out: list[Applied] = []
            for file in files:
                if file.endswith((".yaml", ".yml", ".json")):
                    out.extend(self._file_objects(file))
            return out
        return self._render_generated(path, depth)

    def _file_objects(self, path: str) -> Iterator[Applied]:
        for doc in _expand_lists(self._parse(path, objects=True) or []):
            meta = doc.get("metadata")
            meta = meta if isinstance(meta, Mapping) else {}
            yield Applied(
                doc, path, str(meta.get("name", "") or ""), str(meta.get("namespace", "") or "")
            )

    def _render_generated(self, directory: str, depth: int) -> list[Applied]:
        out: list[Applied] = []
        subdirs, files = self.snap.list_dir(directory)
        for file in files:
            if file.endswith((".yaml", ".yml")):
                docs = self._parse(file, objects=True) or []
                if docs and all(
                    isinstance(d, Mapping) and "kind" in d and "apiVersion" in d for d in docs
                ):
                    out.extend(self._file_objects(file))
        for sub in subdirs:
            if self._kfile(sub) is not None:
                out.extend(self.render(sub, FLUX, depth + 1))
            else:
                out.extend(self._render_generated(sub, depth + 1))
        return out

    def _render_kustomization(self, directory: str, kfile: str, depth: int) -> list[Applied]:
        doc, references = self._kustomization(kfile)
        if not doc:
            return []
        prefix = str(doc.get("namePrefix", "") or "")
        suffix = str(doc.get("nameSuffix", "") or "")
        namespace = str(doc.get("namespace", "") or "")
        out: list[Applied] = []
        for ref in references:
            if ref.field not in ("resources", "bases", "components") or ref.remote:
                continue
            target = snapshot.join(directory, ref.ref)
            for obj in self.render(target, kustomize.RESOURCE, depth + 1):
                out.append(
                    Applied(
                        obj.doc, obj.file, f"{prefix}{obj.name}{suffix}", namespace or obj.namespace
                    )
                )
        return out


def _expand_lists(docs: Iterable[Any]) -> Iterator[Mapping[str, Any]]:
    for doc in docs:
        if isinstance(doc, Mapping):
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                yield from _expand_lists(doc["items"])
            else:
                yield doc


def _may_hold_gitops(data: bytes) -> bool:
    return might_contain_objects(data) or b"ArtifactGenerator" in data


def _is_gitrepository(doc: Mapping[str, Any]) -> bool:
    return doc.get("kind") == "GitRepository" and str(doc.get("apiVersion", "")).startswith(
        "source.toolkit.fluxcd.io/"
    )
