"""The YAML dialects the planner writes, as PyYAML dumpers (the definition of the bytes).

- `StateDumper`: PyYAML's safe dumper with sequences indented under their key, as kubectl
  writes them, no aliases; for rollout state files, policies and command output.
- `ManifestDumper`: the same layout with the Go-YAML-safe quoting of
  `planner.yamlsafe.quoting` as its string representer, for emitted manifests: keys are
  strings, scalars are written plain, single-quoted, double-quoted (with the escapes of
  `quoting.double_quoted`) or as literal blocks, never as `? key` entries, and a sequence
  inside a sequence starts on its own line. Floats are refused (a manifest never needs one).
- `SortedDumper`: keys sorted, multi-line strings as literal blocks, non-ASCII kept; the
  canonical text of a rendered object in a diff (`planner.render_diff`).

`planner.yamlsafe.blocks` writes the state and manifest dialects' bytes for plain data,
much faster; the tests compare both.
"""

from __future__ import annotations

from typing import Any

import yaml

from planner.yamlsafe import quoting

_STR = "tag:yaml.org,2002:str"
_MAP = "tag:yaml.org,2002:map"


class StateDumper(yaml.SafeDumper):
    """Safe dumper that indents sequences inside mappings, as kubectl does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:
        return True


class ManifestDumper(StateDumper):
    """`StateDumper` with the Go-YAML-safe quoting of `planner.yamlsafe.quoting`."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        chosen = quoting.LITERAL if quoting.block_text(data) else quoting.style(data)
        return self.represent_scalar(_STR, data, style=chosen or None)

    def represent_dict(self, data: Any) -> yaml.MappingNode:
        return self.represent_mapping(_MAP, {str(key): value for key, value in data.items()})

    def represent_float(self, data: float) -> yaml.ScalarNode:
        raise TypeError(f"cannot emit {type(data).__name__} as YAML")

    def check_simple_key(self) -> bool:
        return isinstance(self.event, yaml.ScalarEvent) or bool(super().check_simple_key())

    def expect_block_sequence(self) -> None:
        if self.sequence_context and not self.mapping_context:
            self.indention = False  # `-` then the inner sequence on the next line
        super().expect_block_sequence()

    def write_double_quoted(self, text: str, split: bool = True) -> None:
        self.write_indicator(quoting.double_quoted(text), True)


class SortedDumper(StateDumper):
    """`StateDumper` with multi-line text as literal blocks (a file in a ConfigMap, line by
    line); written with keys sorted, for the canonical text of rendered objects."""

    def represent_str(self, data: str) -> yaml.ScalarNode:
        return self.represent_scalar(_STR, data, style="|" if "\n" in data else None)


SortedDumper.add_representer(str, SortedDumper.represent_str)
ManifestDumper.add_representer(str, ManifestDumper.represent_str)
ManifestDumper.add_representer(dict, ManifestDumper.represent_dict)
ManifestDumper.add_representer(tuple, ManifestDumper.represent_list)
ManifestDumper.add_representer(float, ManifestDumper.represent_float)


def state_text(value: Any) -> str:
    """`value` as PyYAML writes it in the state dialect."""
    return _dump(value, StateDumper, allow_unicode=False)


def manifest_text(value: Any) -> str:
    """`value` as PyYAML writes it in the manifest dialect."""
    return _dump(value, ManifestDumper, allow_unicode=True)


def sorted_text(value: Any) -> str:
    """`value` with keys sorted at every level (the canonical text of a rendered object)."""
    return _dump(value, SortedDumper, allow_unicode=True, sort_keys=True)


def _dump(
    value: Any, dumper: type[StateDumper], *, allow_unicode: bool, sort_keys: bool = False
) -> str:
    return yaml.dump(
        value,
        Dumper=dumper,
        default_flow_style=False,
        sort_keys=sort_keys,
        allow_unicode=allow_unicode,
        width=1_000_000,
    )
