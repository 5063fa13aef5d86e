"""`-o/--output`: the kubectl-style name for a command's output format, on every command.

`-o json|yaml|table|markdown|wide` means the same everywhere; a command refuses (exit 2) a
format it does not print. `--format/-f` keeps working exactly as before where a command had
it (`-o` wins when both are given), and `explain --json` is `-o json`. `yaml` is the JSON
document as YAML; `wide` is the table with every name listed instead of the first few.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Annotated, Any

import typer

from planner.errors import UserError


class OutputFormat(StrEnum):
    table = "table"
    json = "json"
    yaml = "yaml"
    markdown = "markdown"
    wide = "wide"


Output = Annotated[
    OutputFormat | None,
    typer.Option(
        "--output",
        "-o",
        help="Output format (kubectl-style): json, yaml, table, markdown or wide.",
        show_default=False,
    ),
]


def choose(output: OutputFormat | str | None, fmt: str | None, *, allowed: tuple[str, ...]) -> str:
    """The format to print: `-o` if given (checked against `allowed`), else `--format`."""
    if output is None:
        return fmt or allowed[0]
    value = str(output.value if isinstance(output, OutputFormat) else output)
    if value not in allowed:
        raise UserError.single(
            f"-o {value} is not available for this command",
            key="--output",
            fix=f"use one of: {', '.join(allowed)}",
        )
    return value


def dump(data: Any, fmt: str) -> str:
    """JSON (indented) or YAML text of plain data."""
    if fmt == "yaml":
        from planner import yamlsafe

        return yamlsafe.dump(data)
    return json.dumps(data, indent=2) + "\n"


def json_to_yaml(text: str) -> str:
    """A command's JSON output as YAML (same keys, same order)."""
    return dump(json.loads(text), "yaml")
