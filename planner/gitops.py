"""GitOps objects that pull other repository paths into a cluster: Flux and Argo CD.

A Flux `Kustomization` (spec.path) or `HelmRelease` (a chart from a GitRepository), and an
Argo CD `Application` or `ApplicationSet` (spec.source(s).path) make a cluster's desired
state include another folder of the same repository. This module finds those objects in
parsed YAML documents (resources and patches alike) and says which paths they pull in and
from which source, so the hierarchy can follow them. Deciding whether a source is *this*
repository is `SourceResolver`'s job. Pure.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"
FLUX_SOURCE_API = "source.toolkit.fluxcd.io/"
FLUX_HELM_API = "helm.toolkit.fluxcd.io/"
ARGO_API = "argoproj.io/"
_MARKER = re.compile(
    rb"^(?:- )?[ ]{0,4}[\"']?kind[\"']?\s*:\s*[\"']?"
    rb"(?:Kustomization|HelmRelease|Application|ApplicationSet|GitRepository)\b",
    re.MULTILINE,
)

# How a followed path is read (see hierarchy.NodeKind).
FLUX, ARGO, CHART, FILE = "flux", "argo", "chart", "file"


@dataclass(frozen=True)
class SourceRef:
    kind: str  # GitRepository, OCIRepository, Bucket, ExternalArtifact, "url" (Argo CD)
    name: str = ""
    namespace: str = ""
    url: str = ""


@dataclass(frozen=True)
class Follow:
    """`tag` (e.g. `Kustomization flux-system/apps`) pulls in repo path `path`, read as `mode`."""

    tag: str
    path: str
    mode: str
    source: SourceRef | None
    recurse: bool = False


@dataclass
class GitSource:
    name: str
    namespace: str
    url: str


@dataclass(frozen=True)
class AppSetDoc:
    """An ApplicationSet: expanded per cluster by `planner.clusterwiring`, never followed as is."""

    tag: str
    text: str  # the object as canonical JSON (comparable, hashable)

    def doc(self) -> Any:
        return json.loads(self.text)


@dataclass
class Scan:
    follows: list[Follow] = field(default_factory=list)
    sources: list[GitSource] = field(default_factory=list)
    appsets: list[AppSetDoc] = field(default_factory=list)


def might_contain_objects(data: bytes) -> bool:
    """Cheap pre-filter before parsing a resource file: a top-level `kind:` we follow.

    Nested mentions (a CRD's `names.kind`) do not count, so large CRD bundles are not parsed.
    """
    return bool(_MARKER.search(data)) or (data.lstrip()[:1] in (b"{", b"[") and b"kind" in data)


def _meta(doc: Mapping[str, Any]) -> tuple[str, str]:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        return "", ""
    return str(meta.get("name", "") or ""), str(meta.get("namespace", "") or "")


def _spec(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _path(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and "{{" not in value and "$" not in value:
        return value.strip()
    return None


def scan_documents(docs: Iterable[Any]) -> Scan:
    """Follows and Git sources declared by these documents (resources or patches)."""
    scan = Scan()
    for doc in docs:
        if isinstance(doc, list):  # a JSON 6902 patch
            scan.follows.extend(_json6902(doc))
        elif isinstance(doc, Mapping):
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                scan_into = scan_documents(doc["items"])  # kustomize expands List items
                scan.follows.extend(scan_into.follows)
                scan.sources.extend(scan_into.sources)
                scan.appsets.extend(scan_into.appsets)
            else:
                _scan_object(doc, scan)
    return scan


def _scan_object(doc: Mapping[str, Any], scan: Scan) -> None:
    api, kind = str(doc.get("apiVersion", "") or ""), doc.get("kind")
    name, namespace = _meta(doc)
    spec = _spec(doc)
    tag = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    if kind == "GitRepository" and api.startswith(FLUX_SOURCE_API):
        scan.sources.append(GitSource(name, namespace, str(spec.get("url", "") or "")))
    elif kind == "Kustomization" and (
        api.startswith(FLUX_KUSTOMIZE_API) or "sourceRef" in spec or not api
    ):
        raw = spec.get("path")
        path = "." if raw in (None, "") else _path(raw)  # no path: the source's root
        if path is not None and ("sourceRef" in spec or raw is not None):
            source = _source_ref(spec.get("sourceRef"), namespace)
            scan.follows.append(Follow(tag, path, FLUX, source))
    elif kind == "HelmRelease" and api.startswith(FLUX_HELM_API):
        scan.follows.extend(_helm_release(tag, spec, namespace))
    elif kind == "Application" and (api.startswith(ARGO_API) or not api):
        scan.follows.extend(argo_sources(tag, spec))
    elif kind == "ApplicationSet" and api.startswith(ARGO_API):
        scan.appsets.append(AppSetDoc(tag, json.dumps(doc, sort_keys=True, default=str)))


def _source_ref(value: Any, namespace: str) -> SourceRef | None:
    if not isinstance(value, Mapping):
        return None
    return SourceRef(
        kind=str(value.get("kind", "") or ""),
        name=str(value.get("name", "") or ""),
        namespace=str(value.get("namespace", "") or namespace),
    )


def _helm_release(tag: str, spec: Mapping[str, Any], namespace: str) -> Iterator[Follow]:
    chart = spec.get("chart")
    chart_spec = chart.get("spec") if isinstance(chart, Mapping) else None
    if not isinstance(chart_spec, Mapping):
        return
    source = _source_ref(chart_spec.get("sourceRef"), namespace)
    if source is None or source.kind != "GitRepository":
        return
    chart_path = _path(chart_spec.get("chart"))
    if chart_path:
        yield Follow(tag, chart_path, CHART, source)
    for values in chart_spec.get("valuesFiles") or []:
        if _path(values):
            yield Follow(tag, str(values).strip(), FILE, source)


def argo_sources(tag: str, spec: Mapping[str, Any]) -> Iterator[Follow]:
    """What an Application spec pulls in: source paths, and Helm `valueFiles` read from this
    repository (relative to the source path, or `$ref/...` through a `ref:` source)."""
    sources = [s for s in (spec.get("sources") or []) if isinstance(s, Mapping)]
    if isinstance(spec.get("source"), Mapping):
        sources.append(spec["source"])
    refs = {str(s["ref"]): s for s in sources if isinstance(s.get("ref"), str)}
    for src in sources:
        path = _path(src.get("path"))
        source = SourceRef("url", url=str(src.get("repoURL", "") or ""))
        if path is not None:
            directory = src.get("directory")
            recurse = isinstance(directory, Mapping) and directory.get("recurse") is True
            mode = CHART if "helm" in src else ARGO
            yield Follow(tag, path, mode, source, recurse=recurse)
        helm = src.get("helm")
        if isinstance(helm, Mapping):
            yield from _value_files(tag, helm.get("valueFiles"), path, source, refs)


_REF_VALUES = re.compile(r"^\$([A-Za-z0-9_.-]+)/(.+)$")


def _value_files(
    tag: str,
    files: Any,
    path: str | None,
    source: SourceRef,
    refs: Mapping[str, Mapping[str, Any]],
) -> Iterator[Follow]:
    for entry in files if isinstance(files, list) else []:
        if not isinstance(entry, str) or not entry.strip() or "://" in entry:
            continue
        match = _REF_VALUES.match(entry.strip())
        if match:
            ref = refs.get(match.group(1))
            rel = _path(match.group(2))
            if ref is not None and rel is not None:
                url = str(ref.get("repoURL", "") or "")
                yield Follow(f"{tag} valueFiles", rel, FILE, SourceRef("url", url=url))
        elif path is not None and _path(entry) is not None:
            rel = posixpath.normpath(posixpath.join(path, entry.strip()))
            inside = path in (".", "") or rel == path or rel.startswith(path.rstrip("/") + "/")
            if not inside:  # a values file inside the chart folder is read with the chart
                yield Follow(f"{tag} valueFiles", rel, FILE, source)


_JSON_PATH = re.compile(r"^/spec/(path|source/path|sources/\d+/path)$")


def _json6902(ops: list[Any]) -> Iterator[Follow]:
    for op in ops:
        if (
            isinstance(op, Mapping)
            and isinstance(op.get("path"), str)
            and _JSON_PATH.match(op["path"])
        ):
            path = _path(op.get("value"))
            if path:
                mode = FLUX if op["path"] == "/spec/path" else ARGO
                yield Follow(f"patch {op['path']}", path, mode, None)


def repo_slug(url: str) -> str:
    """`owner/name` of a Git URL (https, ssh, scp-style), lowercased, without `.git`."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z0-9+.-]+://", "", text)
    text = text.split("@", 1)[-1].replace(":", "/")
    parts = [p for p in text.removesuffix("/").removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


class SourceResolver:
    """Decides whether a source is this repository.

    Sound by default: a source the planner cannot rule out (unknown GitRepository, unknown
    repository URL) counts as this repository when the path exists in it.
    """

    def __init__(self, local_names: Iterable[str], repo_urls: Iterable[str]) -> None:
        self.local_names = frozenset(local_names)
        self.repo_slugs = frozenset(s for s in (repo_slug(u) for u in repo_urls) if s)
        self.git_sources: dict[tuple[str, str], GitSource] = {}
        self.by_name: dict[str, GitSource] = {}

    def learn(self, sources: Iterable[GitSource]) -> None:
        for src in sources:
            self.git_sources.setdefault((src.namespace, src.name), src)
            self.by_name.setdefault(src.name, src)

    def is_local(self, source: SourceRef | None, path_exists: bool) -> bool | None:
        """True/False when decided; None while an unseen GitRepository may still be found."""
        if source is None:
            return path_exists
        if source.kind == "url":
            return self._url_is_local(source.url, path_exists)
        if source.kind != "GitRepository":
            return False
        if source.name in self.local_names:
            return True
        found = self.git_sources.get((source.namespace, source.name)) or self.by_name.get(
            source.name
        )
        if found is None:
            return None
        return self._url_is_local(found.url, path_exists)

    def _url_is_local(self, url: str, path_exists: bool) -> bool:
        if self.repo_slugs and url:
            return repo_slug(url) in self.repo_slugs
        return path_exists
