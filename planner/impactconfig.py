"""What the impact rule does with changed files that reach no cluster: the policy's
`unowned` and `ignore` settings (`planner.impact` applies them)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from planner import changes as changes_mod


class UnownedRule(StrEnum):
    WARN = "warn"
    ALL_CLUSTERS = "all-clusters"
    ERROR = "error"


class ImpactConfig(BaseModel):
    """What to do with changed files that reach no cluster."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    unowned: UnownedRule = Field(
        default=UnownedRule.WARN,
        description="warn | all-clusters | error, for a changed file no cluster reaches.",
    )
    ignore: tuple[str, ...] = Field(
        default=changes_mod.DEFAULT_IGNORE,
        description="Globs of files that reach no cluster by design; listed as ignored.",
    )
