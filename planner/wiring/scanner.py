"""The scanner: GitOps objects that pull other repository paths into a cluster, found in
parsed YAML documents (Flux and Argo CD).

A Flux `Kustomization` (spec.path) or `HelmRelease` (a chart from a GitRepository), and an
Argo CD `Application` or `ApplicationSet` (spec.source(s).path) make a cluster's desired
state include another folder of the same repository. This module finds those objects in
parsed YAML documents (resources and patches alike) and says which paths they pull in and
from which source (a `planner.wiring.objects.Scan`), so the hierarchy can follow them.
Deciding whether a source is *this* repository is
`planner.wiring.sources.SourceResolver`'s job. Pure.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from planner.wiring.notes import Unmodelled
from planner.wiring.objects import (
    ARGO,
    ARGO_API,
    CHART,
    FILE,
    FLUX,
    FLUX_EXTENSIONS_API,
    FLUX_HELM_API,
    FLUX_KUSTOMIZE_API,
    FLUX_OPERATOR_API,
    FLUX_SOURCE_API,
    AppSetDoc,
    ArtifactSpec,
    CopyRule,
    Follow,
    GitSource,
    Scan,
    SourceRef,
    is_templated,
    literal_prefix,
)

_MARKER = re.compile(
    rb"^(?:- )?[ ]{0,4}[\"']?kind[\"']?\s*:\s*[\"']?"
    rb"(?:Kustomization|HelmRelease|HelmChart|Application|ApplicationSet|GitRepository"
    rb"|ArtifactGenerator|FluxInstance)\b",
    re.MULTILINE,
)
# Fields that let an object of any kind pull content from somewhere.
_PULL_FIELDS = (b"sourceRef", b"repoURL", b"chartRef")
# Kinds that carry such a field but pull nothing into a cluster themselves.
_NOT_PULLING = frozenset(
    {
        "GitRepository",
        "OCIRepository",
        "HelmRepository",
        "Bucket",
        "ImageUpdateAutomation",
        "ImagePolicy",
        "ImageRepository",
        "Receiver",
        "Alert",
        "Provider",
        "AppProject",
        "Secret",
        "ConfigMap",
        "CustomResourceDefinition",
    }
)


def might_contain_objects(data: bytes) -> bool:
    """Cheap pre-filter before parsing a resource file: a top-level `kind:` we follow.

    Nested mentions (a CRD's `names.kind`) do not count, so large CRD bundles are not parsed.
    """
    return (
        bool(_MARKER.search(data))
        or any(f in data for f in _PULL_FIELDS)
        or (data.lstrip()[:1] in (b"{", b"[") and b"kind" in data)
    )


def _meta(doc: Mapping[str, Any]) -> tuple[str, str]:
    meta = doc.get("metadata")
    if not isinstance(meta, Mapping):
        return "", ""
    return str(meta.get("name", "") or ""), str(meta.get("namespace", "") or "")


def _spec(doc: Mapping[str, Any]) -> Mapping[str, Any]:
    spec = doc.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def _path(value: Any) -> str | None:
    if isinstance(value, str) and value.strip() and not is_templated(value):
        return value.strip()
    return None


def _templated(scan: Scan, tag: str, field_name: str, value: str) -> None:
    prefix = literal_prefix(value)
    scan.unmodelled.append(
        Unmodelled(
            tag,
            f"templated {field_name} {value.strip()!r} is not expanded",
            paths=(prefix,) if prefix != "." else (),  # "." would be every change
        )
    )


def scan_documents(docs: Iterable[Any], *, patch: bool = False) -> Scan:
    """Follows, sources and unmodelled objects declared by these documents.

    `patch`: the documents are patches, not objects. A patch changes the object it targets
    for the cluster that applies it: only the fields it sets are followed (a patch without
    `spec.path` does not mean "the source's root"), and it declares no source."""
    scan = Scan()
    for doc in docs:
        if isinstance(doc, list):  # a JSON 6902 patch
            scan.follows.extend(_json6902(doc))
        elif isinstance(doc, Mapping):
            if doc.get("kind") == "List" and isinstance(doc.get("items"), list):
                scan.extend(scan_documents(doc["items"], patch=patch))  # kustomize expands Lists
            elif patch:
                _scan_patch(doc, scan)
            else:
                _scan_object(doc, scan)
    return scan


def _scan_patch(doc: Mapping[str, Any], scan: Scan) -> None:
    """A strategic-merge patch: follow only the paths it sets explicitly."""
    api, kind = str(doc.get("apiVersion", "") or ""), doc.get("kind")
    name, namespace = _meta(doc)
    spec = _spec(doc)
    target = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    tag = f"patch of {target}"
    if kind == "Kustomization" and "path" in spec and "resources" not in doc:
        raw = spec.get("path")
        path = _path(raw)
        if path is not None:
            source = _source_ref(spec.get("sourceRef"), namespace)
            scan.follows.append(Follow(tag, path, FLUX, source, target=target))
        elif isinstance(raw, str) and raw.strip():
            _templated(scan, tag, "path", raw)
    elif kind == "Application" and (api.startswith(ARGO_API) or not api):
        _argo_sources(tag, spec, scan)
    elif kind == "ApplicationSet" and api.startswith(ARGO_API):
        scan.unmodelled.append(
            Unmodelled(tag, "a patch of an ApplicationSet is not applied before its expansion")
        )


def _scan_object(doc: Mapping[str, Any], scan: Scan) -> None:
    api, kind = str(doc.get("apiVersion", "") or ""), doc.get("kind")
    name, namespace = _meta(doc)
    spec = _spec(doc)
    tag = f"{kind} {namespace}/{name}" if namespace else f"{kind} {name}"
    if kind == "GitRepository" and api.startswith(FLUX_SOURCE_API):
        scan.sources.append(
            GitSource(
                name,
                namespace,
                str(spec.get("url", "") or ""),
                ref_text(spec.get("ref")),
                _includes(spec.get("include")),
            )
        )
    elif kind == "ArtifactGenerator" and api.startswith(FLUX_EXTENSIONS_API):
        scan.artifacts.extend(_artifact_generator(name, namespace, spec))
    elif kind == "Kustomization" and (
        api.startswith(FLUX_KUSTOMIZE_API) or "sourceRef" in spec or not api
    ):
        _flux_kustomization(tag, spec, namespace, scan)
    elif kind == "HelmRelease" and api.startswith(FLUX_HELM_API):
        _helm_release(tag, spec, namespace, scan)
    elif kind == "HelmChart" and api.startswith(FLUX_SOURCE_API):
        _helm_chart_spec(tag, spec, namespace, scan)
    elif kind == "FluxInstance" and api.startswith(FLUX_OPERATOR_API):
        _flux_instance(tag, spec, scan)
    elif kind == "Application" and (api.startswith(ARGO_API) or not api):
        _argo_sources(tag, spec, scan)
    elif kind == "ApplicationSet" and api.startswith(ARGO_API):
        scan.appsets.append(AppSetDoc(tag, json.dumps(doc, sort_keys=True, default=str)))
    elif kind == "GitRepo" and api.startswith("fleet.cattle.io/"):
        # A Fleet GitRepo deploys the bundles under `paths` to the clusters its `targets`
        # select; bundles are modelled through the clusters' own paths, not through it.
        paths = [p for p in spec.get("paths") or [] if isinstance(p, str) and _path(p)]
        scan.unmodelled.append(
            Unmodelled(
                tag,
                "Fleet GitRepo targets are not expanded (model its clusters with the bundle "
                "folders as their paths)",
                paths=tuple(sorted({p.strip().strip("/") or "." for p in paths} - {"."})),
            )
        )
    elif isinstance(kind, str) and kind not in _NOT_PULLING and kind != "Kustomization":
        _unknown_kind(tag, api, spec, scan)


def _includes(value: Any) -> tuple[str, ...]:
    """Where a GitRepository mounts other repositories (`include[].toPath`, default: the
    included GitRepository's name)."""
    found = []
    for item in value if isinstance(value, list) else []:
        if not isinstance(item, Mapping):
            continue
        repo = item.get("repository")
        default = str(repo.get("name", "") or "") if isinstance(repo, Mapping) else ""
        to_path = str(item.get("toPath", "") or default)
        parts = [p for p in to_path.split("/") if p not in ("", ".")]
        if parts:
            found.append("/".join(parts))
    return tuple(found)


def ref_text(ref: Any) -> str:
    """A GitRepository `spec.ref` as one comparable text (`branch=main,tag=v1`)."""
    if not isinstance(ref, Mapping):
        return ""
    items = {str(k): str(v) for k, v in ref.items() if v not in (None, "")}
    name = items.pop("name", "")
    for prefix, key in (("refs/heads/", "branch"), ("refs/tags/", "tag")):
        if name.startswith(prefix):
            items.setdefault(key, name[len(prefix) :])
            name = ""
    if name:
        items["name"] = name
    return ",".join(f"{k}={items[k]}" for k in sorted(items))


def _flux_kustomization(tag: str, spec: Mapping[str, Any], namespace: str, scan: Scan) -> None:
    raw = spec.get("path")
    source = _source_ref(spec.get("sourceRef"), namespace)
    if isinstance(raw, str) and raw.strip() and is_templated(raw):
        _templated(scan, tag, "path", raw)
        return
    path = "." if raw in (None, "") else _path(raw)  # no path: the source's root
    if path is None or ("sourceRef" not in spec and raw is None):
        return
    if source is not None and source.kind in ("OCIRepository", "Bucket"):
        scan.unmodelled.append(
            Unmodelled(
                tag,
                f"source {source.kind} {source.name} may be built from this repository; "
                "its content is not traced",
            )
        )
        return
    scan.follows.append(Follow(tag, path, FLUX, source))


def _flux_instance(tag: str, spec: Mapping[str, Any], scan: Scan) -> None:
    """A flux-operator FluxInstance syncs `spec.sync.path` of `spec.sync.url`."""
    sync = spec.get("sync")
    if not isinstance(sync, Mapping):
        return
    raw, kind = sync.get("path"), str(sync.get("kind", "") or "GitRepository")
    if kind != "GitRepository":
        scan.unmodelled.append(Unmodelled(tag, f"sync source kind {kind} is not traced"))
    elif isinstance(raw, str) and is_templated(raw):
        _templated(scan, tag, "sync.path", raw)
    else:
        path = _path(raw) or "."
        scan.follows.append(Follow(tag, path, FLUX, SourceRef("url", url=str(sync.get("url", "")))))


def _unknown_kind(tag: str, api: str, spec: Mapping[str, Any], scan: Scan) -> None:
    """Any other object that names a source or a repository URL: unmodelled."""
    for key in ("sourceRef", "repoURL", "chartRef"):
        if key in spec:
            scan.unmodelled.append(Unmodelled(tag, f"kind {api} with spec.{key} is not modelled"))
            return
    source = spec.get("source")
    if isinstance(source, Mapping) and ("repoURL" in source or "path" in source):
        scan.unmodelled.append(Unmodelled(tag, f"kind {api} with spec.source is not modelled"))


def generator_artifacts(doc: Mapping[str, Any]) -> list[ArtifactSpec]:
    """The ExternalArtifacts one ArtifactGenerator document makes, with their copy rules."""
    name, namespace = _meta(doc)
    return list(_artifact_generator(name, namespace, _spec(doc)))


def _artifact_generator(
    name: str, namespace: str, spec: Mapping[str, Any]
) -> Iterator[ArtifactSpec]:
    aliases: list[tuple[str, SourceRef]] = []
    for src in spec.get("sources") or []:
        if isinstance(src, Mapping) and src.get("alias"):
            ref = SourceRef(
                kind=str(src.get("kind", "") or ""),
                name=str(src.get("name", "") or ""),
                namespace=str(src.get("namespace", "") or namespace),
            )
            aliases.append((str(src["alias"]), ref))
    for art in spec.get("artifacts") or []:
        if not isinstance(art, Mapping) or not art.get("name"):
            continue
        rules = []
        for rule in art.get("copy") or []:
            if not isinstance(rule, Mapping):
                continue
            src, dst = str(rule.get("from", "") or ""), str(rule.get("to", "") or "")
            alias, _, inner = src.removeprefix("@").partition("/")
            dest = dst.split("@artifact", 1)[-1] if "@artifact" in dst else dst
            parts = [p for p in dest.split("/") if p not in ("", ".")]
            rules.append(CopyRule(alias, inner, "/".join(parts) or "."))
        yield ArtifactSpec(str(art["name"]), namespace, name, tuple(aliases), tuple(rules))


def _source_ref(value: Any, namespace: str) -> SourceRef | None:
    if not isinstance(value, Mapping):
        return None
    return SourceRef(
        kind=str(value.get("kind", "") or ""),
        name=str(value.get("name", "") or ""),
        namespace=str(value.get("namespace", "") or namespace),
    )


def _helm_release(tag: str, spec: Mapping[str, Any], namespace: str, scan: Scan) -> None:
    """A HelmRelease: its chart from a GitRepository is followed; a chart from a
    HelmRepository or `chartRef` to an OCIRepository (a published chart) is external.
    `valuesFrom` ConfigMaps and Secrets are objects of the cluster's own build (a
    kustomize generator reads their files), so they are already traced there."""
    chart_ref = spec.get("chartRef")
    if isinstance(chart_ref, Mapping):
        kind = str(chart_ref.get("kind", "") or "")
        # a chart published to an OCI registry is external, like a HelmRepository chart; a
        # HelmChart object in the repository is scanned on its own
        if kind not in ("OCIRepository", "HelmChart"):
            scan.unmodelled.append(
                Unmodelled(tag, f"chartRef {kind} {chart_ref.get('name', '')} is not traced")
            )
        return
    chart = spec.get("chart")
    chart_spec = chart.get("spec") if isinstance(chart, Mapping) else None
    if isinstance(chart_spec, Mapping):
        _helm_chart_spec(tag, chart_spec, namespace, scan)


def _helm_chart_spec(tag: str, chart_spec: Mapping[str, Any], namespace: str, scan: Scan) -> None:
    source = _source_ref(chart_spec.get("sourceRef"), namespace)
    if source is None or source.kind == "HelmRepository":
        return  # a chart from a Helm repository: external
    if source.kind != "GitRepository":
        scan.unmodelled.append(
            Unmodelled(tag, f"chart source {source.kind} {source.name} is not traced")
        )
        return
    raw = chart_spec.get("chart")
    chart_path = _path(raw)
    if chart_path:
        scan.follows.append(Follow(tag, chart_path, CHART, source))
    elif isinstance(raw, str) and raw.strip():
        _templated(scan, tag, "chart", raw)
    for values in chart_spec.get("valuesFiles") or []:
        if _path(values):
            scan.follows.append(Follow(tag, str(values).strip(), FILE, source))
        elif isinstance(values, str) and values.strip():
            _templated(scan, tag, "valuesFiles", values)


def _argo_sources(tag: str, spec: Mapping[str, Any], scan: Scan) -> None:
    """What an Application spec pulls in: source paths, and Helm `valueFiles` read from this
    repository (relative to the source path, or `$ref/...` through a `ref:` source)."""
    sources = [s for s in (spec.get("sources") or []) if isinstance(s, Mapping)]
    if isinstance(spec.get("source"), Mapping):
        sources.append(spec["source"])
    refs = {str(s["ref"]): s for s in sources if isinstance(s.get("ref"), str)}
    for src in sources:
        raw = src.get("path")
        url = str(src.get("repoURL", "") or "")
        if isinstance(raw, str) and raw.strip() and is_templated(raw):
            _templated(scan, tag, "path", raw)
            continue
        if is_templated(url):
            scan.unmodelled.append(Unmodelled(tag, f"templated repoURL {url!r} is not expanded"))
            continue
        path = _path(raw)
        source = SourceRef("url", url=url)
        if path is not None:
            directory = src.get("directory")
            recurse = isinstance(directory, Mapping) and directory.get("recurse") is True
            mode = CHART if "helm" in src else ARGO
            scan.follows.append(Follow(tag, path, mode, source, recurse=recurse))
        helm = src.get("helm")
        if isinstance(helm, Mapping):
            scan.follows.extend(_value_files(tag, helm.get("valueFiles"), path, source, refs))


def argo_sources(tag: str, spec: Mapping[str, Any]) -> Scan:
    """`_argo_sources` of one Application spec (a generated one, see planner.wiring.percluster)."""
    scan = Scan()
    _argo_sources(tag, spec, scan)
    return scan


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
