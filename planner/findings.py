"""Findings: the shared result type of every check (guardrails, precise planning, ranges).

A `Finding` is a violation or a warning naming the cluster, the values and the files;
`Validation` is every finding over the fleet, as `validate` returns it. Pure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["violation", "warning"]


class Finding(BaseModel):
    """One guardrail result."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: str
    severity: Severity
    message: str
    cluster: str | None = None
    file: str | None = None
    values: dict[str, str] = Field(default_factory=dict)
    fix: str | None = None


@dataclass(frozen=True)
class Validation:
    """The result of `validate`: every finding over the fleet."""

    findings: list[Finding]
    clusters: int

    @property
    def violations(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "warning"]
