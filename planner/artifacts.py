"""An ExternalArtifact made by a Flux ArtifactGenerator, mapped back to a repository path.

A Kustomization whose source is an `ExternalArtifact` applies a path inside the artifact;
the ArtifactGenerator's `copy` rules (`from: "@alias/dir/**"`, `to: "@artifact/dest/"`) say
which folder of which source it came from. The rule with the longest destination that
contains the path wins. Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any

from planner import snapshot


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def artifact_path(
    name: str,
    path: str,
    generators: Iterable[Mapping[str, Any]],
    local_git: Callable[[str], bool],
) -> tuple[bool, bool, str | None]:
    """(a generator makes `name`, from a GitRepository of this repository, the repository
    path that `path` inside the artifact comes from, or None when no rule maps it)."""
    known = local = False
    best: tuple[int, str] | None = None
    for generator in generators:
        spec = _mapping(generator.get("spec"))
        aliases = {s.get("alias"): s for s in spec.get("sources") or [] if isinstance(s, Mapping)}
        for artifact in spec.get("artifacts") or []:
            if _mapping(artifact).get("name") != name:
                continue
            known = True
            for rule in _mapping(artifact).get("copy") or []:
                alias, _, src_path = str(_mapping(rule).get("from", "")).partition("/")
                source = _mapping(aliases.get(alias.lstrip("@")))
                if source.get("kind") != "GitRepository" or not local_git(
                    str(source.get("name", ""))
                ):
                    continue
                local = True
                dest = str(_mapping(rule).get("to", "")).split("@artifact", 1)[-1]
                dest = snapshot.normalize(dest.strip("/") or ".")
                src_dir = src_path.split("*", 1)[0].rstrip("/") or "."
                if dest == ".":
                    candidate = snapshot.join(src_dir, path)
                elif path == dest or path.startswith(dest + "/"):
                    candidate = snapshot.join(src_dir, path[len(dest) :].lstrip("/") or ".")
                else:
                    continue
                if best is None or len(dest) > best[0]:
                    best = (len(dest), candidate)
    return known, local, best[1] if best else None
