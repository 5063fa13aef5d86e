"""Which sources are this change: this repository, at the revision being planned.

`SourceResolver` learns the Flux `GitRepository` objects and `ArtifactGenerator`s met while
the hierarchy is built and decides, for each source a Flux or Argo CD object names, whether
it is this change (`LOCAL`), another repository (`EXTERNAL`) or this repository at another
branch or tag (`OTHER_REF`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from planner.wiring.objects import ArtifactSpec, GitSource, SourceRef


def repo_slug(url: str) -> str:
    """`owner/name` of a Git URL (https, ssh, scp-style), lowercased, without `.git`."""
    text = url.strip().lower()
    text = re.sub(r"^[a-z0-9+.-]+://", "", text)
    text = text.split("@", 1)[-1].replace(":", "/")
    parts = [p for p in text.removesuffix("/").removesuffix(".git").split("/") if p]
    return "/".join(parts[-2:]) if len(parts) >= 2 else ""


# How a source was decided (SourceResolver.decide).
LOCAL, EXTERNAL, OTHER_REF = "local", "external", "other-ref"
_DEFAULT_REFS = frozenset({"", "branch=main", "branch=master"})


class SourceResolver:
    """Decides whether a source is this change: this repository at the revision planned.

    A GitRepository is this change when it is a bootstrap source (`local_names`), or when
    its URL is this repository's (the policy's or origin's URL, or a bootstrap source's
    URL) AND its `ref` is the one being planned: the bootstrap source's ref when one was
    seen, else `planned_refs` (the branch of `--head`) or the default branch. A source on
    this URL with another branch or tag is another revision (`OTHER_REF`): not followed.
    Sound by default: a source the planner cannot rule out (unknown GitRepository, unknown
    repository URL) counts as this repository when the path exists in it.
    """

    def __init__(
        self,
        local_names: Iterable[str],
        repo_urls: Iterable[str],
        planned_refs: Iterable[str] = (),
    ) -> None:
        self.local_names = frozenset(local_names)
        self.repo_slugs = {s for s in (repo_slug(u) for u in repo_urls) if s}
        self.planned_refs = frozenset(planned_refs)
        self.git_sources: dict[tuple[str, str], GitSource] = {}
        self.by_name: dict[str, GitSource] = {}
        self.boot_refs: set[str] = set()
        self.artifacts: dict[tuple[str, str], list[ArtifactSpec]] = {}
        self.artifacts_by_name: dict[str, list[ArtifactSpec]] = {}

    def learn(self, sources: Iterable[GitSource], artifacts: Iterable[ArtifactSpec] = ()) -> None:
        for src in sources:
            self.git_sources.setdefault((src.namespace, src.name), src)
            self.by_name.setdefault(src.name, src)
            if src.name in self.local_names:
                self.boot_refs.add(src.ref)
                if repo_slug(src.url):
                    self.repo_slugs.add(repo_slug(src.url))
        for art in artifacts:
            # every cluster may declare its own generator under the same name: keep them all
            # (the union of their copy rules is what some cluster's artifact holds)
            found = self.artifacts.setdefault((art.namespace, art.name), [])
            if art not in found:
                found.append(art)
                self.artifacts_by_name.setdefault(art.name, []).append(art)

    def artifact(self, source: SourceRef) -> list[ArtifactSpec]:
        """Every generator spec producing this ExternalArtifact (empty: none seen yet)."""
        return self.artifacts.get((source.namespace, source.name)) or self.artifacts_by_name.get(
            source.name, []
        )

    def is_local(self, source: SourceRef | None, path_exists: bool) -> bool | None:
        """True/False when decided; None while an unseen GitRepository may still be found."""
        decided = self.decide(source, path_exists)
        return None if decided is None else decided == LOCAL

    def decide(self, source: SourceRef | None, path_exists: bool) -> str | None:
        """LOCAL, EXTERNAL or OTHER_REF; None while an unseen GitRepository may be found."""
        if source is None:
            return LOCAL if path_exists else EXTERNAL
        if source.kind == "url":
            return LOCAL if self._url_is_local(source.url, path_exists) else EXTERNAL
        if source.kind != "GitRepository":
            return EXTERNAL
        if source.name in self.local_names:
            return LOCAL
        found = self.git_source(source)
        if found is None:
            return None
        if not self._url_is_local(found.url, path_exists):
            return EXTERNAL
        return LOCAL if self.ref_is_planned(found.ref) else OTHER_REF

    def git_source(self, source: SourceRef) -> GitSource | None:
        return self.git_sources.get((source.namespace, source.name)) or self.by_name.get(
            source.name
        )

    def ref_is_planned(self, ref: str) -> bool:
        """A ref names the revision being planned (no ref: the default branch, assumed so)."""
        if ref == "":
            return True
        wanted = self.boot_refs or (self.planned_refs | _DEFAULT_REFS)
        return ref in wanted or (ref in _DEFAULT_REFS and bool(wanted & {""}))

    def _url_is_local(self, url: str, path_exists: bool) -> bool:
        if self.repo_slugs and url:
            return repo_slug(url) in self.repo_slugs
        return path_exists
