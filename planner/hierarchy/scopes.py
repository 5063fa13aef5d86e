"""Scopes: how much of the fleet a folder is meant for, read from path patterns.

A scope rule pairs a pattern (a path glob, `planner.globs`, matching that folder and
below) with a scope; the longest matching rule gives a path its scope and its layer folder.
`HierarchyConfig` is the hierarchy engine's configuration (scope rules, which Flux sources
are this repository, whether objects are followed); the policy file fills it in.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from planner.globs import PathGlob, path_glob


class Scope(StrEnum):
    """How much of the fleet a layer is meant for."""

    GLOBAL = "global"
    ENVIRONMENT = "environment"
    REGION = "region"
    CLUSTER = "cluster"
    SHARED = "shared"


class ScopeRule(BaseModel):
    """A path pattern (one glob per path component) and the scope of what it matches."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    pattern: str = Field(description="e.g. `environments/*`; matches that folder and below.")
    scope: Scope


DEFAULT_SCOPES: tuple[ScopeRule, ...] = (
    ScopeRule(pattern="base", scope=Scope.GLOBAL),
    ScopeRule(pattern="environments/*", scope=Scope.ENVIRONMENT),
    ScopeRule(pattern="regions/*", scope=Scope.REGION),
    ScopeRule(pattern="clusters/*", scope=Scope.CLUSTER),
)


class HierarchyConfig(BaseModel):
    """How the hierarchy is read: scope patterns and which Flux sources are this repo."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    scopes: tuple[ScopeRule, ...] = Field(default=DEFAULT_SCOPES)
    flux_sources: tuple[str, ...] = Field(
        default=("flux-system",),
        description="Flux GitRepository names that always mean this repository.",
    )
    follow: bool = Field(default=True, description="Follow Flux and Argo CD objects.")


def classify(path: str, rules: Iterable[ScopeRule]) -> tuple[Scope, str | None]:
    """The scope of a path and the layer folder that gave it (longest matching rule)."""
    return Classifier(tuple(rules))(path)


class Classifier:
    """`classify` with the rules compiled once (path globs: `planner.globs`)."""

    def __init__(self, rules: tuple[ScopeRule, ...]) -> None:
        self.rules: list[tuple[int, Scope, PathGlob]] = []
        for rule in rules:
            glob = path_glob(rule.pattern)
            self.rules.append((glob.depth, rule.scope, glob))

    def __call__(self, path: str) -> tuple[Scope, str | None]:
        parts = path.split("/")
        best: tuple[int, Scope] | None = None
        for size, scope, glob in self.rules:
            if (
                len(parts) >= size
                and (best is None or size > best[0])
                and glob.matches("/".join(parts[:size]))
            ):
                best = (size, scope)
        if best is None:
            return Scope.SHARED, None
        return best[1], "/".join(parts[: best[0]])
