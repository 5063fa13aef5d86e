"""What kustomize reads: every file or folder a kustomization references.

Owns the list of kustomization fields that point at other files (resources, components,
patches, generators, replacements, helm values, ...) and how each entry is spelled, so the
hierarchy can add one edge per reference. Remote references (URLs, `git::`, `github.com/...`,
OCI) are recognised here and never fetched. Pure: takes the parsed kustomization mapping.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from planner.snapshot import Snapshot

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")


def kustomization_file(snap: Snapshot, directory: str) -> str | None:
    """The kustomization file of a folder at a revision (kustomize's order), if any."""
    for name in KUSTOMIZATION_FILES:
        path = name if directory == "." else f"{directory}/{name}"
        if snap.exists(path) and not snap.is_dir(path):
            return path
    return None


# How a referenced path is read: a kustomization folder or resource file ("resource"),
# a plain file ("file"), a folder whose every file matters ("chart").
RESOURCE, FILE, CHART = "resource", "file", "chart"

_REMOTE = re.compile(
    r"^(?:[a-z][a-z0-9+.-]*://|git::|git@|oci://|github\.com/|gitlab\.com/|bitbucket\.org/)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Reference:
    """One reference in a kustomization: the field it sits in, the raw text, how it is read."""

    field: str
    ref: str
    mode: str  # RESOURCE | FILE | CHART

    @property
    def remote(self) -> bool:
        return is_remote(self.ref)


def is_remote(ref: str) -> bool:
    return bool(_REMOTE.match(ref.strip()))


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        yield from (v for v in value if isinstance(v, str))


def _is_path(text: str) -> bool:
    """Inline YAML (patches, transformer configs) is not a path."""
    return bool(text.strip()) and "\n" not in text


def _mappings(value: Any) -> list[Mapping[str, Any]]:
    if not isinstance(value, list):
        return []
    return [v for v in value if isinstance(v, Mapping)]


_LISTS = (  # fields holding paths, in the order references are listed
    ("resources", RESOURCE),
    ("bases", RESOURCE),
    ("components", RESOURCE),
    ("crds", FILE),
    ("configurations", FILE),
    ("patchesStrategicMerge", FILE),
    ("transformers", RESOURCE),
    ("generators", RESOURCE),
    ("validators", RESOURCE),
)
_ENTRIES = ("patches", "patchesJson6902", "replacements")  # entries with a `path`
_GENERATORS = ("configMapGenerator", "secretGenerator")
_HELM = ("helmCharts", "helmChartInflationGenerator")


def references(doc: Mapping[str, Any]) -> list[Reference]:
    """Every file reference of one kustomization, in a stable order."""
    refs: list[Reference] = []

    def add(field: str, value: Any, mode: str) -> None:
        if value is not None:  # absent: most fields of most kustomizations
            refs.extend(Reference(field, s.strip(), mode) for s in _strings(value) if _is_path(s))

    for field, mode in _LISTS:
        add(field, doc.get(field), mode)
    for field in _ENTRIES:
        for entry in _mappings(doc.get(field)):
            add(f"{field}.path", entry.get("path"), FILE)
    for field in _GENERATORS:
        for entry in _mappings(doc.get(field)):
            if "files" not in entry and "envs" not in entry and "env" not in entry:
                continue  # literals only
            for item in _strings(entry.get("files")):
                add(f"{field}.files", item.split("=", 1)[-1], FILE)
            add(f"{field}.envs", entry.get("envs"), FILE)
            add(f"{field}.env", entry.get("env"), FILE)
    openapi = doc.get("openapi")
    if isinstance(openapi, Mapping):
        add("openapi.path", openapi.get("path"), FILE)
    if any(doc.get(field) is not None for field in _HELM):
        refs.extend(_helm_references(doc))
    return refs


def _helm_references(doc: Mapping[str, Any]) -> Iterator[Reference]:
    globals_ = doc.get("helmGlobals")
    chart_home = "charts"
    if isinstance(globals_, Mapping) and isinstance(globals_.get("chartHome"), str):
        chart_home = globals_["chartHome"]
    charts = list(_mappings(doc.get("helmCharts")))
    for entry in charts:
        for value in (entry.get("valuesFile"), entry.get("additionalValuesFiles")):
            yield from (Reference("helmCharts.valuesFile", s, FILE) for s in _strings(value))
    if charts:
        yield Reference("helmGlobals.chartHome", chart_home, CHART)
    for entry in _mappings(doc.get("helmChartInflationGenerator")):
        home = entry.get("chartHome")
        yield Reference("helmChartInflationGenerator.chartHome", home or chart_home, CHART)
        yield from (
            Reference("helmChartInflationGenerator.values", s, FILE)
            for s in _strings(entry.get("values"))
        )


def inline_patches(doc: Mapping[str, Any]) -> list[str]:
    """Inline patch texts (they may retarget a Flux or Argo CD object's path)."""
    texts = [s for s in _strings(doc.get("patchesStrategicMerge")) if not _is_path(s)]
    for field in ("patches", "patchesJson6902"):
        for entry in _mappings(doc.get(field)):
            patch = entry.get("patch")
            if isinstance(patch, str):
                texts.append(patch)
    return texts
