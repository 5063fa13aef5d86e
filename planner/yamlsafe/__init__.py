"""YAML, read and written safely: the planner's one way to turn bytes into data and back.

- Reading (`planner.yamlsafe.loading`): everything the planner reads is untrusted; safe
  loading with limits (size, depth, alias budget), duplicate keys refused in configuration
  files, dates kept as strings. `load_all`, `load_one`, `decode`, `YamlError`.
- Writing, in two dialects defined as PyYAML dumpers (`planner.yamlsafe.dumpers`) and
  written directly for plain data (`planner.yamlsafe.blocks`, the same bytes):
  `dump` for state files, policies and command output (PyYAML's choices, sequences
  indented as kubectl writes them); `dump_manifest`/`dump_manifests` for emitted manifests,
  with the Go-YAML-safe quoting of `planner.yamlsafe.quoting`, so every Kubernetes reader
  reads back the very strings written; `dump_sorted` for the canonical text of rendered
  objects in a diff.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from planner.yamlsafe import blocks, dumpers
from planner.yamlsafe.loading import (
    MAX_BYTES,
    MAX_DEPTH,
    MAX_NODES,
    YamlError,
    decode,
    load_all,
    load_one,
    without_timestamps,
)

__all__ = [
    "MAX_BYTES",
    "MAX_DEPTH",
    "MAX_NODES",
    "YamlError",
    "decode",
    "dump",
    "dump_manifest",
    "dump_manifests",
    "dump_sorted",
    "json_size",
    "load_all",
    "load_one",
    "without_timestamps",
]


def dump(value: Any) -> str:
    """Deterministic block-style YAML for state files and output (keys in the order given)."""
    fast = blocks.write(value, blocks.STATE)
    return fast if fast is not None else dumpers.state_text(value)


def dump_manifest(value: Mapping[str, Any] | Sequence[Any]) -> str:
    """One manifest document (a mapping or a list), Go-YAML-safe and deterministic."""
    fast = blocks.write(value, blocks.MANIFEST)
    if fast is None:  # a scalar or an empty collection
        return blocks.inline(value, blocks.MANIFEST) + "\n"
    return fast


def dump_manifests(documents: Sequence[Mapping[str, Any]]) -> bytes:
    """Several manifest documents separated by `---`, as UTF-8 bytes."""
    return "---\n".join(dump_manifest(doc) for doc in documents).encode()


def dump_sorted(value: Any) -> str:
    """Block YAML with keys sorted at every level and multi-line strings as literal blocks:
    the canonical text of a rendered object, so the same object always reads the same."""
    return dumpers.sorted_text(value)


def json_size(document: Any) -> int:
    """Bytes a manifest takes as compact JSON (how the API server stores custom resources)."""
    return len(json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode())
