"""Wiring notes: objects the tracer met but did not follow, and why.

Every object that can pull content into a cluster (a Flux source or Kustomization, a
HelmRelease, an Argo CD Application or ApplicationSet, a Fleet bundle, anything with a
`sourceRef`, a `repoURL` or a `path`) ends in exactly one of three states:

- **followed**: the hierarchy has an edge to the repository paths it pulls in;
- **external**: proven to read another repository, or another revision of this one (a
  `GitRepository` on this URL with another branch or tag: an `OTHER_REVISION` note);
- **unmodelled**: the planner cannot tell what it pulls in (a templated path, an
  `OCIRepository`, a generator it cannot expand, a kind it does not know...).

An unmodelled object is never silent. The plan names it in a warning (`unmodelled-wiring`;
a violation with `plan --strict`), and whenever a changed file reaches no cluster, every
cluster containing an unmodelled object is affected (sound: it may be the one that reads
the file). A note may carry `paths`, repository folders the object is known to read from
(the literal prefix of a templated path): a change below one of them affects the clusters
containing the object even when another cluster reaches the file.

How to report an unmodelled object (from any scanner of YAML documents):

    scan.unmodelled.append(
        Unmodelled(tag="ApplicationSet argocd/apps", reason="scmProvider generator is not expanded")
    )

`scanner.scan_documents` returns a `Scan`; the hierarchy attaches each note to the node of
the file it was found in (`Hierarchy.wiring`), so "the clusters containing it" are the
clusters whose graph reaches that file. A resolver that decides late (in the hierarchy
builder, e.g. an `ExternalArtifact` no generator produces) calls `_Builder._note` the same
way. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass

UNMODELLED = "unmodelled-wiring"
OTHER_REVISION = "other-revision"


@dataclass(frozen=True)
class Unmodelled:
    """An object that can pull content in, but whose content the planner cannot model.

    `tag` names the object (`Kind namespace/name`), `reason` says why in a few words, and
    `paths` are repository folders it is known to read from (may be empty)."""

    tag: str
    reason: str
    paths: tuple[str, ...] = ()
    code: str = UNMODELLED


def other_revision(tag: str, source: str, ref: str) -> Unmodelled:
    """A same-repository source pinned to another branch or tag: external, but named."""
    return Unmodelled(
        tag=tag,
        reason=f"source {source} reads this repository at {ref}, not the revision being planned",
        code=OTHER_REVISION,
    )


@dataclass(frozen=True)
class WiringNote:
    """An `Unmodelled` attached to the graph node of the file that declares it."""

    code: str
    node: str
    file: str
    tag: str
    reason: str
    paths: tuple[str, ...] = ()

    @property
    def unmodelled(self) -> bool:
        return self.code == UNMODELLED


def under(path: str, folder: str) -> bool:
    """True when repository path `path` is `folder` or below it (`.` holds everything)."""
    return folder in (".", "") or path == folder or path.startswith(folder.rstrip("/") + "/")
