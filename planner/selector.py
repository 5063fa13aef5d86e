"""Kubernetes label selectors, parsed into data before they are evaluated.

A selector is a list of requirements (key, operator, values); `matchLabels` entries are
`In` requirements with one value. Keeping selectors as data lets every output say exactly
which rule placed a cluster (`describe()`), and lets guardrails reason about them (a
selector that matches nothing, or everything). Also parses the kubectl string form
(`environment=production,region in (eu-west),!canary`). Pure.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from planner.errors import UserError
from planner.inventory import check_label_key, check_label_value

Operator = Literal["In", "NotIn", "Exists", "DoesNotExist"]


class Requirement(BaseModel):
    """One `matchExpressions` entry."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    key: str
    operator: Operator
    values: tuple[str, ...] = ()

    @model_validator(mode="after")
    def _check(self) -> Requirement:
        check_label_key(self.key)
        for value in self.values:
            check_label_value(value)
        if self.operator in ("In", "NotIn") and not self.values:
            raise ValueError(f"operator {self.operator} needs at least one value")
        if self.operator in ("Exists", "DoesNotExist") and self.values:
            raise ValueError(f"operator {self.operator} takes no values")
        return self

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "In":
            return present and labels[self.key] in self.values
        if self.operator == "NotIn":
            return not present or labels[self.key] not in self.values
        if self.operator == "Exists":
            return present
        return not present

    def describe(self) -> str:
        if self.operator == "In" and len(self.values) == 1:
            return f"{self.key}={self.values[0]}"
        if self.operator == "NotIn" and len(self.values) == 1:
            return f"{self.key}!={self.values[0]}"
        if self.operator in ("In", "NotIn"):
            op = "in" if self.operator == "In" else "notin"
            return f"{self.key} {op} ({','.join(self.values)})"
        return self.key if self.operator == "Exists" else f"!{self.key}"


class LabelSelector(BaseModel):
    """A Kubernetes label selector: every requirement must hold (an empty one matches all)."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, populate_by_name=True)

    match_labels: dict[str, str] = Field(default_factory=dict, alias="matchLabels")
    match_expressions: tuple[Requirement, ...] = Field(default=(), alias="matchExpressions")

    @model_validator(mode="after")
    def _check(self) -> LabelSelector:
        for key, value in self.match_labels.items():
            check_label_key(key)
            check_label_value(value)
        return self

    def requirements(self) -> tuple[Requirement, ...]:
        return (
            tuple(
                Requirement(key=k, operator="In", values=(v,))
                for k, v in sorted(self.match_labels.items())
            )
            + self.match_expressions
        )

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements())

    def describe(self) -> str:
        parts = [r.describe() for r in self.requirements()]
        return ",".join(parts) if parts else "every cluster"

    def is_empty(self) -> bool:
        return not self.match_labels and not self.match_expressions


_TOKEN = re.compile(
    r"\s*(?:(?P<not>!)\s*(?P<nkey>[^\s,!=()]+)"
    r"|(?P<key>[^\s,!=()]+)\s*(?:(?P<op>==|=|!=)\s*(?P<value>[^\s,()]*)"
    r"|\s+(?P<setop>in|notin)\s*\((?P<values>[^)]*)\)"
    r")?)\s*(?:,|$)"
)


def parse_selector(text: str) -> LabelSelector:
    """Parse the kubectl selector syntax into a `LabelSelector`."""
    requirements: list[Requirement] = []
    pos, text = 0, text.strip()
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if not match or match.end() == pos:
            raise UserError.single(
                f"cannot parse selector at {text[pos:]!r}",
                key="--selector",
                fix="use e.g. 'environment=production,region in (eu-west,us-east),!canary'",
            )
        pos = match.end()
        try:
            requirements.append(_requirement(match))
        except ValueError as exc:
            raise UserError.single(str(exc), key="--selector") from None
    return LabelSelector(match_expressions=tuple(requirements))


def _requirement(match: re.Match[str]) -> Requirement:
    if match.group("not"):
        return Requirement(key=match.group("nkey"), operator="DoesNotExist")
    key = match.group("key")
    if match.group("op"):
        operator: Operator = "NotIn" if match.group("op") == "!=" else "In"
        return Requirement(key=key, operator=operator, values=(match.group("value"),))
    if match.group("setop"):
        values = tuple(v.strip() for v in match.group("values").split(",") if v.strip())
        return Requirement(
            key=key, operator="In" if match.group("setop") == "in" else "NotIn", values=values
        )
    return Requirement(key=key, operator="Exists")
