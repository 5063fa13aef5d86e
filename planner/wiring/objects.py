"""What the scanner finds in YAML documents: the GitOps objects that pull repository paths in.

A `Scan` holds the `Follow`s (an object pulls in a repository path, read as one of the
follow modes below, from a `SourceRef`), the Flux `GitSource`s declared, the ArtifactGenerator
`ArtifactSpec`s, the ApplicationSets to expand per cluster (`AppSetDoc`) and the objects it
cannot trace (`planner.wiring.notes.Unmodelled`). Pure.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from planner.wiring.notes import Unmodelled

FLUX_KUSTOMIZE_API = "kustomize.toolkit.fluxcd.io/"
FLUX_SOURCE_API = "source.toolkit.fluxcd.io/"
FLUX_HELM_API = "helm.toolkit.fluxcd.io/"
FLUX_EXTENSIONS_API = "source.extensions.fluxcd.io/"
FLUX_OPERATOR_API = "fluxcd.controlplane.io/"
ARGO_API = "argoproj.io/"
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
    target: str = ""  # a patch: the tag of the object it patches (its source is that one's)


@dataclass
class GitSource:
    name: str
    namespace: str
    url: str
    ref: str = ""  # canonical `spec.ref` (`branch=main`), empty: the default branch
    includes: tuple[str, ...] = ()  # `spec.include[].toPath`: other repositories mounted here


@dataclass(frozen=True)
class CopyRule:
    """One `copy` entry of an ArtifactGenerator: `@alias/from` -> `@artifact/to`."""

    alias: str
    source: str  # the path inside the alias (may hold globs)
    dest: str  # the folder inside the artifact (normalised, "." for the root)


@dataclass(frozen=True)
class ArtifactSpec:
    """An ExternalArtifact produced by an ArtifactGenerator, with its aliases' sources."""

    name: str
    namespace: str
    generator: str
    aliases: tuple[tuple[str, SourceRef], ...]
    copy: tuple[CopyRule, ...]


@dataclass(frozen=True)
class AppSetDoc:
    """An ApplicationSet: expanded per cluster by `planner.wiring.percluster`, never followed
    as is."""

    tag: str
    text: str  # the object as canonical JSON (comparable, hashable)

    def doc(self) -> Any:
        return json.loads(self.text)


@dataclass
class Scan:
    follows: list[Follow] = field(default_factory=list)
    sources: list[GitSource] = field(default_factory=list)
    appsets: list[AppSetDoc] = field(default_factory=list)
    artifacts: list[ArtifactSpec] = field(default_factory=list)
    unmodelled: list[Unmodelled] = field(default_factory=list)

    def extend(self, other: Scan) -> None:
        self.follows.extend(other.follows)
        self.sources.extend(other.sources)
        self.appsets.extend(other.appsets)
        self.artifacts.extend(other.artifacts)
        self.unmodelled.extend(other.unmodelled)


def is_templated(value: str) -> bool:
    """True for a path that a controller fills in (`${VAR}`, `{{name}}`, `$VAR`)."""
    return "{{" in value or "$" in value


def literal_prefix(value: str) -> str:
    """The folder a templated path is known to lie in: `./apps/${X}/y` -> `apps`."""
    cut = min((i for i in (value.find("{{"), value.find("$")) if i >= 0), default=len(value))
    head = value[:cut].strip()
    folder = head.rsplit("/", 1)[0] if "/" in head else ""
    parts = [p for p in folder.split("/") if p not in ("", ".")]
    return "/".join(parts) if parts and ".." not in parts else "."
