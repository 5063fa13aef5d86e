"""Flux ExternalArtifacts mapped back to repository paths through ArtifactGenerator copy rules.

An `ArtifactGenerator` (`source.extensions.fluxcd.io/v1beta1`) builds an `ExternalArtifact`
from one or more sources (`spec.sources[].alias`) with `copy` rules such as
`from: "@monorepo/apps/base/**"`, `to: "@artifact/base/"`. A Flux Kustomization with
`sourceRef: {kind: ExternalArtifact, name: apps}` and `path: ./production` reads the
artifact's `production/` folder, that is the repository folders the rules copy there.

`map_path` answers, for one artifact path: the repository folders that are that path
(`folders`, built as a kustomization), the repository folders copied *into* it
(`contents`, read whole), whether some rule reads a source that is not this revision
(`external`), and the sources it could not decide yet (`undecided`). Pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from planner.wiring.objects import ArtifactSpec, CopyRule, SourceRef
from planner.wiring.scanner import generator_artifacts

_GLOB = set("*?[{")


@dataclass
class ArtifactMapping:
    folders: list[str] = field(default_factory=list)
    contents: list[str] = field(default_factory=list)
    external: list[str] = field(default_factory=list)
    unmodelled: list[str] = field(default_factory=list)
    undecided: bool = False
    # where each local rule puts the artifact root in the repository (None: nowhere)
    roots: set[str | None] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)  # every local rule's source folder


def _norm(path: str) -> str:
    parts = [p for p in path.strip().split("/") if p not in ("", ".")]
    return "/".join(parts) or "."


def _under(path: str, folder: str) -> bool:
    return folder in (".", path) or path.startswith(folder + "/")


def _join(base: str, rest: str) -> str:
    if base == ".":
        return rest or "."
    return f"{base}/{rest}" if rest and rest != "." else base


def source_base(rule: CopyRule) -> tuple[str, bool]:
    """The repository folder a rule copies from, and whether it keeps the folder structure
    below it (`dir/**` does; a plain folder is copied under its own name)."""
    parts = [p for p in rule.source.split("/") if p not in ("", ".")]
    literal: list[str] = []
    for part in parts:
        if any(c in _GLOB for c in part):
            return "/".join(literal) or ".", True
        literal.append(part)
    return "/".join(literal) or ".", False


def map_path(
    spec: ArtifactSpec,
    path: str,
    decide: Callable[[SourceRef], bool | None],
    exists: Callable[[str], bool],
) -> ArtifactMapping:
    """Repository paths behind `path` of the artifact `spec` (see the module docstring).

    `decide(source)` says whether an alias's source is this revision (None: not known yet);
    `exists(path)` whether a repository path exists at this revision."""
    want = _norm(path)
    aliases = dict(spec.aliases)
    found = ArtifactMapping()
    for rule in spec.copy:
        source = aliases.get(rule.alias)
        if source is None:
            found.unmodelled.append(f"copy from unknown alias @{rule.alias}")
            continue
        if source.kind != "GitRepository":
            found.unmodelled.append(f"alias @{rule.alias} is a {source.kind}")
            continue
        local = decide(source)
        if local is None:
            found.undecided = True
            continue
        if not local:
            found.external.append(f"@{rule.alias}")
            continue
        base, keeps = source_base(rule)
        dest = _norm(rule.dest)
        found.roots.add(_artifact_root(base, dest) if keeps else None)
        if exists(base) and base not in found.sources:
            found.sources.append(base)
        if _under(want, dest):
            for candidate in _candidates(base, keeps, dest, want):
                if exists(candidate) and candidate not in found.folders:
                    found.folders.append(candidate)
        elif _under(dest, want) and exists(base) and base not in found.contents:
            found.contents.append(base)
    return found


def _rest(dest: str, want: str) -> str:
    """`want` (a path at or below the rule's destination `dest`) relative to `dest`."""
    return "" if want == dest else (want if dest == "." else want[len(dest) + 1 :])


def _candidates(base: str, keeps: bool, dest: str, want: str) -> list[str]:
    """The repository paths that `want` inside the artifact may come from through one rule
    copying `base` to `dest` (`want` at or below `dest`); the structure-keeping reading
    last."""
    rest = _rest(dest, want)
    if keeps:
        return [_join(base, rest)]
    # a plain file or folder lands at dest/<name>; a folder may also be copied as its
    # contents: both readings are kept (sound)
    name = base.rsplit("/", 1)[-1]
    head, _, tail = rest.partition("/")
    candidates = [_join(base, tail)] if rest in ("", ".") or head == name else []
    return [*candidates, _join(base, rest)]


def _artifact_root(base: str, dest: str) -> str | None:
    """The repository folder that plays the artifact root for a structure-keeping rule
    (`apps/base/**` -> `base/`: `apps`), or None when the rule moves files elsewhere."""
    if dest == ".":
        return base
    if base == dest:
        return "."
    if base.endswith("/" + dest):
        return base[: -len(dest) - 1]
    return None


def map_paths(
    specs: Iterable[ArtifactSpec],
    path: str,
    decide: Callable[[SourceRef], bool | None],
    exists: Callable[[str], bool],
) -> ArtifactMapping:
    """`map_path` over every generator producing the artifact (their union: sound)."""
    found = ArtifactMapping()
    for spec in specs:
        one = map_path(spec, path, decide, exists)
        found.folders += [p for p in one.folders if p not in found.folders]
        found.contents += [p for p in one.contents if p not in found.contents]
        found.external += one.external
        found.unmodelled += [u for u in one.unmodelled if u not in found.unmodelled]
        found.undecided = found.undecided or one.undecided
        found.roots |= one.roots
        found.sources += [p for p in one.sources if p not in found.sources]
    if len(found.roots) > 1 or None in found.roots:
        # the artifact does not keep the repository's layout: a reference between its
        # folders may land on any copied source, so every one is read (sound)
        found.contents += [
            p for p in found.sources if p not in found.contents and p not in found.folders
        ]
    return found


# ------------------------------------------------------------ pinning (planner.pins.nesting)
#
# The pinner reads raw generator documents as the controller sees them at a revision and
# needs one answer: the rule with the longest destination that contains the path wins, read
# as keeping the structure below its source folder.


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
        for spec in generator_artifacts(generator):
            if spec.name != name:
                continue
            known = True
            aliases = dict(spec.aliases)
            for rule in spec.copy:
                source = aliases.get(rule.alias)
                if source is None or source.kind != "GitRepository" or not local_git(source.name):
                    continue
                local = True
                dest = _norm(rule.dest)
                if not _under(path, dest):
                    continue
                candidate = _join(source_base(rule)[0], _rest(dest, path))
                if best is None or len(dest) > best[0]:
                    best = (len(dest), candidate)
    return known, local, best[1] if best else None
