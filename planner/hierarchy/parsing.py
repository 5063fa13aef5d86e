"""Parsed YAML files of a revision, cached by blob id so two graphs share the work."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from planner import kustomize, yamlsafe


@dataclass
class Parsed:
    docs: list[Any] = field(default_factory=list)
    error: str | None = None
    line: int | None = None
    refs: list[kustomize.Reference] | None = None  # memo: the references of a kustomization


class ParseCache:
    """Parsed YAML by (path, blob id): the base graph reuses what the head graph parsed."""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], Parsed] = {}

    def get(self, path: str, blob: str | None) -> Parsed | None:
        return self._entries.get((path, blob)) if blob else None

    def put(self, path: str, blob: str | None, parsed: Parsed) -> None:
        if blob:
            self._entries[(path, blob)] = parsed

    def clear(self) -> None:
        """Forget every entry (once the graphs are built, nothing reads them again)."""
        self._entries.clear()


def parse_yaml(data: bytes) -> Parsed:
    """The documents of a YAML file, or its error and the line of it."""
    try:
        return Parsed(docs=yamlsafe.load_all(data))
    except yamlsafe.YamlError as exc:
        return Parsed(error=str(exc), line=exc.line)
