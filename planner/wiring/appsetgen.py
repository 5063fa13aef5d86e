"""ApplicationSet generators: the parameter sets `list`, `clusters`, `git`, `matrix` and
`merge` produce, with the inventory as cluster Secrets and one repository revision as the git
checkout (see `planner.wiring.appset`, which fills the template with them). Pure.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from planner import yamlsafe
from planner.globs import glob_match
from planner.wiring import apptemplate

CLUSTER_PARAM = "\0cluster"  # hidden parameter: the inventory cluster a parameter set came from
_SECRET_TYPE = "argocd.argoproj.io/secret-type"
UNMODELLED_GENERATORS = ("scmProvider", "pullRequest", "plugin", "clusterDecisionResource")


@dataclass(frozen=True)
class ClusterInfo:
    """What an ApplicationSet or a Fleet bundle can know of a cluster (its Secret)."""

    name: str
    labels: Mapping[str, str]
    server: str = ""
    path: str = ""


class RepoView(Protocol):
    """The revision a git generator reads (one snapshot of this repository)."""

    def directories(self) -> Sequence[str]: ...

    def file_paths(self) -> Sequence[str]: ...

    def read(self, path: str) -> bytes | None: ...

    def is_local(self, repo_url: str) -> bool: ...

    def is_planned(self, revision: str) -> bool:
        """True when a git generator's `revision` is the revision being planned."""
        ...


class Unexpandable(Exception):
    """A generator or template that cannot be evaluated (the reason is the message)."""


# ------------------------------------------------------------------------- generators


class Evaluator:
    def __init__(
        self, clusters: Sequence[ClusterInfo], repo: RepoView, go: bool, inputs: set[str]
    ) -> None:
        self.clusters = clusters
        self.repo = repo
        self.go = go
        self.inputs = inputs

    def generator(self, gen: Any, depth: int = 0) -> list[dict[str, Any]]:
        if not isinstance(gen, Mapping):
            raise Unexpandable("a generator is not a mapping")
        if depth > 3:
            raise Unexpandable("generators nested too deep")
        kinds = [k for k in gen if k not in ("selector", "template")]
        if len(kinds) != 1:
            raise Unexpandable(f"generator with keys {sorted(kinds)}")
        kind = kinds[0]
        body = gen[kind]
        if kind in UNMODELLED_GENERATORS:
            raise Unexpandable(f"{kind} generator is not expanded")
        if not isinstance(body, Mapping):
            raise Unexpandable(f"{kind} generator is not a mapping")
        if kind == "list":
            rows = self._list(body)
        elif kind == "clusters":
            rows = self._clusters(body)
        elif kind == "git":
            rows = self._git(body)
        elif kind == "matrix":
            rows = self._matrix(body, depth)
        elif kind == "merge":
            rows = self._merge(body, depth)
        else:
            raise Unexpandable(f"unknown generator {kind!r}")
        selector = gen.get("selector")
        if isinstance(selector, Mapping):
            rows = [r for r in rows if _selects(selector, _flat_view(r))]
        return rows

    def _list(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        if "elementsYaml" in body:
            raise Unexpandable("list elementsYaml is not expanded")
        elements = body.get("elements") or []
        if not isinstance(elements, list):
            raise Unexpandable("list elements is not a list")
        rows = []
        for element in elements:
            if not isinstance(element, Mapping):
                raise Unexpandable("a list element is not a mapping")
            row = dict(element)
            if not self.go:
                values = row.pop("values", None)
                row = {k: v if isinstance(v, str) else _text(v) for k, v in row.items()}
                if isinstance(values, Mapping):
                    row.update({f"values.{k}": _text(v) for k, v in values.items()})
            rows.append(row)
        return rows

    def _clusters(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        selector = body.get("selector")
        rows = []
        for cluster in self.clusters:
            if isinstance(selector, Mapping) and not _selects(selector, cluster.labels, True):
                continue
            params = self._cluster_params(cluster)
            values = body.get("values")
            if isinstance(values, Mapping):
                rendered = {
                    str(k): apptemplate.render_value(_text(v), _visible(params), self.go)
                    for k, v in values.items()
                }
                if self.go:
                    params["values"] = rendered
                else:
                    params.update({f"values.{k}": v for k, v in rendered.items()})
            rows.append(params)
        return rows

    def _cluster_params(self, cluster: ClusterInfo) -> dict[str, Any]:
        normalized = re.sub(r"[^a-z0-9.-]", "-", cluster.name.lower())
        if self.go:
            return {
                "name": cluster.name,
                "nameNormalized": normalized,
                "server": cluster.server,
                "metadata": {"labels": dict(cluster.labels), "annotations": {}},
                CLUSTER_PARAM: cluster.name,
            }
        params: dict[str, Any] = {
            "name": cluster.name,
            "nameNormalized": normalized,
            "server": cluster.server,
            CLUSTER_PARAM: cluster.name,
        }
        params.update({f"metadata.labels.{k}": v for k, v in cluster.labels.items()})
        return params

    def _git(self, body: Mapping[str, Any]) -> list[dict[str, Any]]:
        url = str(body.get("repoURL", "") or "")
        if not self.repo.is_local(url):
            raise Unexpandable(f"git generator on another repository ({url or 'no repoURL'})")
        revision = str(body.get("revision", "") or "").strip()
        if not self.repo.is_planned(revision):
            raise Unexpandable(f"git generator reads revision {revision!r}, not the one planned")
        prefix = str(body.get("pathParamPrefix", "") or "")
        rows: list[dict[str, Any]] = []
        if isinstance(body.get("directories"), list):
            rows.extend(self._git_dirs(body["directories"], prefix))
        if isinstance(body.get("files"), list):
            rows.extend(self._git_files(body["files"], prefix))
        if "directories" not in body and "files" not in body:
            raise Unexpandable("git generator without directories or files")
        values = body.get("values")
        if isinstance(values, Mapping):
            for row in rows:
                rendered = {
                    str(k): apptemplate.render_value(_text(v), _visible(row), self.go)
                    for k, v in values.items()
                }
                if self.go:
                    row["values"] = rendered
                else:
                    row.update({f"values.{k}": v for k, v in rendered.items()})
        return rows

    def _git_dirs(self, entries: list[Any], prefix: str) -> list[dict[str, Any]]:
        include = [_glob_entry(e) for e in entries if not _excluded(e)]
        exclude = [_glob_entry(e) for e in entries if _excluded(e)]
        rows = []
        for directory in self.repo.directories():
            if any(glob_match(p, directory) for p in include) and not any(
                glob_match(p, directory) for p in exclude
            ):
                rows.append(self._path_params(directory, prefix, None))
        return rows

    def _git_files(self, entries: list[Any], prefix: str) -> list[dict[str, Any]]:
        include = [_glob_entry(e) for e in entries if not _excluded(e)]
        exclude = [_glob_entry(e) for e in entries if _excluded(e)]
        rows = []
        for path in self.repo.file_paths():
            if not any(glob_match(p, path) for p in include) or any(
                glob_match(p, path) for p in exclude
            ):
                continue
            self.inputs.add(path)
            data = self.repo.read(path)
            try:
                docs = yamlsafe.load_all(data or b"")
            except yamlsafe.YamlError as exc:
                raise Unexpandable(f"git file generator: {path} does not parse ({exc})") from None
            items: list[Any] = []
            for doc in docs:
                items.extend(doc if isinstance(doc, list) else [doc])
            for item in items:
                if not isinstance(item, Mapping):
                    raise Unexpandable(f"git file generator: {path} is not a mapping")
                row = dict(item) if self.go else _flatten(item)
                row.update(self._path_params(posixpath.dirname(path) or ".", prefix, path))
                rows.append(row)
        return rows

    def _path_params(self, directory: str, prefix: str, file: str | None) -> dict[str, Any]:
        segments = [] if directory == "." else directory.split("/")
        base = segments[-1] if segments else "."
        info: dict[str, Any] = {
            "path": directory,
            "basename": base,
            "basenameNormalized": re.sub(r"[^a-z0-9.-]", "-", base.lower()),
        }
        if file is not None:
            info["filename"] = posixpath.basename(file)
            info["filenameNormalized"] = re.sub(r"[^a-z0-9.-]", "-", info["filename"].lower())
        key = f"{prefix}.path" if prefix else "path"
        if self.go:
            info["segments"] = segments
            if prefix:
                return {prefix: {"path": info}}
            return {"path": info}
        flat: dict[str, Any] = {key: directory}
        for name, value in info.items():
            if name != "path":
                flat[f"{key}.{name}"] = value
        for index, segment in enumerate(segments):
            flat[f"{key}[{index}]"] = segment
        return flat

    def _matrix(self, body: Mapping[str, Any], depth: int) -> list[dict[str, Any]]:
        children = body.get("generators")
        if not isinstance(children, list) or len(children) != 2:
            raise Unexpandable("matrix needs exactly two generators")
        rows = []
        for left in self.generator(children[0], depth + 1):
            second = children[1]
            if "{{" in json.dumps(second, default=str):
                second = apptemplate.render_value(second, _visible(left), self.go)
                hit = apptemplate.unresolved(second)
                if hit is not None:
                    raise Unexpandable(f"matrix: {hit} has no value")
            for right in self.generator(second, depth + 1):
                row = deep_merge(left, right) if self.go else {**left, **right}
                if CLUSTER_PARAM in left and CLUSTER_PARAM not in right:
                    row[CLUSTER_PARAM] = left[CLUSTER_PARAM]
                rows.append(row)
        return rows

    def _merge(self, body: Mapping[str, Any], depth: int) -> list[dict[str, Any]]:
        children = body.get("generators")
        keys = body.get("mergeKeys")
        if not isinstance(children, list) or len(children) < 2:
            raise Unexpandable("merge needs at least two generators")
        if not isinstance(keys, list) or not keys:
            raise Unexpandable("merge without mergeKeys")
        rows = [dict(r) for r in self.generator(children[0], depth + 1)]
        for child in children[1:]:
            for other in self.generator(child, depth + 1):
                wanted = [_flat_view(other).get(str(k)) for k in keys]
                if None in wanted:
                    continue
                for row in rows:
                    if [_flat_view(row).get(str(k)) for k in keys] == wanted:
                        cluster = row.get(CLUSTER_PARAM)
                        merged = deep_merge(row, other) if self.go else {**row, **other}
                        if cluster is not None:
                            merged[CLUSTER_PARAM] = cluster
                        row.clear()
                        row.update(merged)
        return rows


# ---------------------------------------------------------------------------- helpers


def _glob_entry(entry: Any) -> str:
    if isinstance(entry, Mapping):
        return str(entry.get("path", "") or "")
    return str(entry)


def _excluded(entry: Any) -> bool:
    return isinstance(entry, Mapping) and entry.get("exclude") is True


def _flatten(value: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix}{key}"
        if isinstance(item, Mapping):
            flat.update(_flatten(item, name + "."))
        else:
            flat[name] = item if isinstance(item, str) else _text(item)
    return flat


def _flat_view(row: Mapping[str, Any]) -> dict[str, Any]:
    return _flatten(_visible(row))


def _visible(row: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != CLUSTER_PARAM}


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, (Mapping, list)):
        return json.dumps(value, sort_keys=True)
    return str(value)


def deep_merge(left: Mapping[str, Any], right: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(left)
    for key, value in right.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _selects(selector: Mapping[str, Any], labels: Mapping[str, Any], secret: bool = False) -> bool:
    """A Kubernetes label selector over labels (or flat parameters)."""
    match_labels = selector.get("matchLabels") or {}
    if not isinstance(match_labels, Mapping):
        raise Unexpandable("selector matchLabels is not a mapping")
    for key, value in match_labels.items():
        if secret and key == _SECRET_TYPE:
            continue
        if labels.get(str(key)) != _text(value):
            return False
    for expr in selector.get("matchExpressions") or []:
        if not isinstance(expr, Mapping):
            raise Unexpandable("a matchExpressions entry is not a mapping")
        key, op = str(expr.get("key", "")), str(expr.get("operator", ""))
        values = [_text(v) for v in expr.get("values") or []]
        if secret and key == _SECRET_TYPE:
            continue
        present = key in labels
        ok = {
            "In": present and labels.get(key) in values,
            "NotIn": not present or labels.get(key) not in values,
            "Exists": present,
            "DoesNotExist": not present,
        }.get(op)
        if ok is None:
            raise Unexpandable(f"selector operator {op!r}")
        if not ok:
            return False
    return True
