"""Argo CD Applications inside a Helm chart of this repository (the app-of-apps chart).

The classic app-of-apps layout keeps the child `Application`s as templates of a chart
(`apps/templates/*.yaml`, with `repoURL: {{ .Values.spec.source.repoURL }}`). Helm is never
run; a template that declares an `Application` or `ApplicationSet` is filled with the
chart's `values.yaml` (and, one at a time, each other `values*.yaml` file of the chart, so
every variant an Application may select is read) by the Go template subset of
`planner.wiring.apptemplate`. What that cannot fill (`range`, `include`, `toYaml`, a missing
value...) is returned as unmodelled with the reason. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from planner import yamlsafe
from planner.wiring import apptemplate
from planner.wiring.appsetgen import deep_merge

_WIRING = re.compile(r"^\s*kind:\s*[\"']?(Application|ApplicationSet)\b", re.MULTILINE)


class ChartFiles(Protocol):
    def list_dir(self, path: str) -> tuple[list[str], list[str]]: ...

    def read(self, path: str) -> bytes | None: ...


@dataclass
class ChartObjects:
    docs: list[Any] = field(default_factory=list)
    templates: list[str] = field(default_factory=list)  # templates that declare objects
    unmodelled: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def chart_objects(files: ChartFiles, chart: str) -> ChartObjects:
    """Argo CD objects the chart at folder `chart` declares in its templates."""
    found = ChartObjects()
    prefix = "" if chart == "." else chart + "/"
    templates = _templates(files, f"{prefix}templates")
    wiring = []
    for path in templates:
        text = yamlsafe.decode(files.read(path) or b"")
        if _WIRING.search(text):
            wiring.append((path, text))
    if not wiring:
        return found
    variants = _value_variants(files, chart)
    meta = _chart_meta(files, prefix)
    for path, text in wiring:
        found.templates.append(path)
        seen: set[str] = set()
        for values in variants:
            params = {
                "Values": values,
                "Release": {"Name": meta.get("name", ""), "Namespace": "", "Service": "Helm"},
                "Chart": {"Name": meta.get("name", ""), "Version": meta.get("version", "")},
                "Capabilities": {},
            }
            try:
                rendered = apptemplate.render_go(text, params)
                docs = yamlsafe.load_all(rendered.encode())
            except apptemplate.TemplateError as exc:
                found.unmodelled.append((path, f"Helm template not evaluated: {exc}"))
                break
            except yamlsafe.YamlError as exc:
                found.unmodelled.append((path, f"rendered Helm template does not parse: {exc}"))
                break
            for doc in docs:
                key = repr(doc)
                if doc is not None and key not in seen:
                    seen.add(key)
                    found.docs.append(doc)
    return found


def _templates(files: ChartFiles, folder: str) -> list[str]:
    found: list[str] = []
    pending = [folder]
    while pending:
        current = pending.pop()
        subdirs, names = files.list_dir(current)
        found.extend(n for n in names if n.endswith((".yaml", ".yml")))
        pending.extend(subdirs)
    return sorted(found)


def _value_variants(files: ChartFiles, chart: str) -> list[Mapping[str, Any]]:
    prefix = "" if chart == "." else chart + "/"
    base = _load_mapping(files, f"{prefix}values.yaml")
    variants: list[Mapping[str, Any]] = [base]
    _, names = files.list_dir(chart)
    for path in names:
        name = path.rsplit("/", 1)[-1]
        if name.startswith("values") and name.endswith((".yaml", ".yml")) and name != "values.yaml":
            variants.append(deep_merge(base, _load_mapping(files, path)))
    return variants


def _chart_meta(files: ChartFiles, prefix: str) -> Mapping[str, Any]:
    return _load_mapping(files, f"{prefix}Chart.yaml")


def _load_mapping(files: ChartFiles, path: str) -> Mapping[str, Any]:
    try:
        docs = yamlsafe.load_all(files.read(path) or b"")
    except yamlsafe.YamlError:
        return {}
    return docs[0] if docs and isinstance(docs[0], Mapping) else {}
