"""An Argo CD ApplicationSet nested in a cluster's render, pinned to the cluster's revision.

Its template's sources of this repository get the pinned `targetRevision`, and its
top-level `git` generators of this repository read the pinned `revision` (so the set of
generated Applications is the one of that commit too). A templated repoURL or
targetRevision, or a matrix/merge generator reading this repository, cannot be pinned and
is returned as a problem. Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

_SHA = re.compile(r"^[0-9a-f]{40}$")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def source_entries(spec: Mapping[str, Any], at: str) -> list[tuple[str, Mapping[str, Any]]]:
    """An Argo CD Application spec's sources, each with its JSON pointer (below `at`)."""
    entries: list[tuple[str, Mapping[str, Any]]] = []
    if isinstance(spec.get("source"), Mapping):
        entries.append((f"{at}/source", spec["source"]))
    for index, src in enumerate(spec.get("sources") or []):
        if isinstance(src, Mapping):
            entries.append((f"{at}/sources/{index}", src))
    return entries


def application_set_ops(
    spec: Mapping[str, Any],
    revision: str,
    is_local: Callable[[Mapping[str, Any]], bool],
    slugs: Iterable[str],
) -> tuple[list[dict[str, Any]], list[str]]:
    """(JSON 6902 operations, problems) for one ApplicationSet's `spec`."""
    ops: list[dict[str, Any]] = []
    problems: set[str] = set()
    tspec = _mapping(_mapping(spec.get("template")).get("spec"))
    for pointer, src in source_entries(tspec, "/spec/template/spec"):
        if "{{" in str(src.get("repoURL", "")):
            problems.add("a templated repoURL")
            continue
        if not is_local(src):
            continue
        text = str(src.get("targetRevision", "") or "")
        if _SHA.fullmatch(text):
            continue
        if "{{" in text:
            problems.add("a templated targetRevision")
            continue
        ops.append({"op": "add", "path": f"{pointer}/targetRevision", "value": revision})
    names = list(slugs)
    for index, item in enumerate(spec.get("generators") or []):
        generator = _mapping(item)
        git = _mapping(generator.get("git"))
        if git and is_local(git) and not _SHA.fullmatch(str(git.get("revision", "") or "")):
            path = f"/spec/generators/{index}/git/revision"
            ops.append({"op": "add", "path": path, "value": revision})
        for combined in ("matrix", "merge"):
            if combined in generator and any(s in str(generator[combined]).lower() for s in names):
                problems.add(f"a {combined} generator reading this repository")
    return ops, sorted(problems)
