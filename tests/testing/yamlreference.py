"""PyYAML's own (pure Python) SafeLoader, dates kept as strings: the reference the fast
paths of `planner.yamlsafe` are checked against.

The yamlsafe tests read every YAML file of the fixture fleets with it (tests/yamlsafe/
test_loading.py and test_plain.py): `fixture_outcome` reads each distinct text once per
run, the slowest reader there is, and hands both the same result (read it, never change
it).
"""

from __future__ import annotations

from typing import Any

import yaml

from planner import yamlsafe


class Reference(yaml.SafeLoader):
    """PyYAML's own SafeLoader, dates kept as strings (what yamlsafe promises)."""


yamlsafe.without_timestamps(Reference)


def outcome(text: str) -> tuple[Any, ...]:
    """("ok", the documents that are not empty) or ("error",)."""
    try:
        return ("ok", [d for d in yaml.load_all(text, Loader=Reference) if d is not None])
    except (yaml.YAMLError, yamlsafe.YamlError):
        return ("error",)


_FIXTURES: dict[str, tuple[Any, ...]] = {}


def fixture_outcome(text: str) -> tuple[Any, ...]:
    """`outcome(text)` for the text of a fixture fleet's file, read once per run."""
    if text not in _FIXTURES:
        _FIXTURES[text] = outcome(text)
    return _FIXTURES[text]
