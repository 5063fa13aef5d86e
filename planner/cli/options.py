"""Options shared by several commands, declared once."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer

from planner.errors import UserError

if TYPE_CHECKING:
    from planner.api import Sources

R = TypeVar("R", bound="Sources")

ENV_REPO, ENV_INVENTORY, ENV_POLICY = (
    "WAVE_PLANNER_REPO",
    "WAVE_PLANNER_INVENTORY",
    "WAVE_PLANNER_POLICY",
)
ENV_BASE = "WAVE_PLANNER_BASE"

Repo = Annotated[
    Path,
    typer.Option(
        "--repo",
        help="The fleet repository (a git work tree).",
        show_default=True,
        envvar=ENV_REPO,
        show_envvar=True,
    ),
]
Base = Annotated[
    str | None,
    typer.Option(
        "--base",
        help="Base revision (default: merge base with the default branch).",
        envvar=ENV_BASE,
        show_envvar=True,
    ),
]
Head = Annotated[str, typer.Option("--head", help="Head revision.")]
Inventory = Annotated[
    Path | None,
    typer.Option(
        "--inventory",
        help="clusters.yaml, or a file/folder of Argo CD cluster Secrets or CAPI Clusters "
        "(default: clusters.yaml in the repository).",
        envvar=ENV_INVENTORY,
        show_envvar=True,
    ),
]
Policy = Annotated[
    Path | None,
    typer.Option(
        "--policy",
        help="Rollout policy (rollout.yaml); default: the built-in policy.",
        envvar=ENV_POLICY,
        show_envvar=True,
    ),
]
Worktree = Annotated[
    bool, typer.Option("--worktree", help="Plan the uncommitted changes of the working tree.")
]
ChangedFiles = Annotated[
    str | None,
    typer.Option(
        "--changed-files",
        help="Read the changed paths from FILE (or - for stdin) instead of git.",
        metavar="FILE|-",
    ),
]
Emergency = Annotated[
    bool,
    typer.Option("--emergency", help="Put every affected cluster in one step (needs --reason)."),
]
Reason = Annotated[str | None, typer.Option("--reason", help="Why (recorded in every output).")]
Rev = Annotated[
    str | None,
    typer.Option("--rev", help="Check this commit instead of the files on disk."),
]

Precise = Annotated[
    bool,
    typer.Option(
        "--precise",
        help="Render every traced cluster at base and head (kubectl kustomize) and keep only "
        "those whose rendered state changed.",
    ),
]
TwoDot = Annotated[
    bool,
    typer.Option(
        "--two-dot",
        help="Compare --base and --head as given (base..head) instead of from their merge "
        "base (what a pull request shows).",
    ),
]
Strict = Annotated[
    bool,
    typer.Option(
        "--strict",
        help="Make unmodelled wiring (objects the planner cannot trace) a violation.",
    ),
]


class PlanFormat(StrEnum):
    table = "table"
    json = "json"
    markdown = "markdown"


Format = Annotated[PlanFormat, typer.Option("--format", "-f", help="Output format.")]


MAX_CHANGED_FILES = 16 * 1024 * 1024  # 16 MiB: far more than any real change list


def _cap(size: int, source: str) -> None:
    if size > MAX_CHANGED_FILES:
        raise UserError.single(
            f"{source} is larger than {MAX_CHANGED_FILES // (1024 * 1024)} MiB",
            key="--changed-files",
            fix="pass the list of changed paths only (one per line)",
        )


class ReportFormat(StrEnum):
    """`plan`'s formats: the shared ones and a self-contained HTML report."""

    table = "table"
    json = "json"
    markdown = "markdown"
    html = "html"


PlanReport = Annotated[
    ReportFormat,
    typer.Option(
        "--format",
        "-f",
        help="Output format (html: one self-contained page, best with --precise).",
    ),
]


def read_changed_files(value: str | None) -> tuple[str | None, str]:
    """The text of a changed-files list (`-` reads stdin)."""
    if value is None:
        return None, "--changed-files"
    if value == "-":
        text = sys.stdin.read(MAX_CHANGED_FILES + 1)
        _cap(len(text.encode("utf-8", errors="replace")), "stdin")
        return text, "stdin"
    from planner.adapters.files import read_input

    path = Path(value)
    if path.is_file():
        _cap(path.stat().st_size, value)
    data = read_input(path, "--changed-files")
    _cap(len(data), value)
    try:
        return data.decode("utf-8"), value
    except UnicodeDecodeError:
        raise UserError.single(f"{value} is not UTF-8 text", key="--changed-files") from None


def emergency_reason(emergency: bool, reason: str | None) -> str | None:
    if not emergency:
        return None
    if not reason or not reason.strip():
        raise UserError.single(
            "--emergency needs --reason", key="--reason", fix='add --reason "CVE-2026-1234: ..."'
        )
    return reason.strip()


@dataclass(frozen=True)
class Change:
    """The options that name a change, shared by `plan`, `explain` and `emit` (declared once,
    below, and spliced into each command's signature by `change_options`)."""

    repo: Path
    base: str | None
    head: str
    inventory: Path | None
    policy: Path | None
    worktree: bool
    changed_files: str | None


_CHANGE_OPTIONS = (
    ("repo", Repo, Path(".")),
    ("base", Base, None),
    ("head", Head, "HEAD"),
    ("inventory", Inventory, None),
    ("policy", Policy, None),
    ("worktree", Worktree, False),
    ("changed_files", ChangedFiles, None),
)


def change_options(command: Callable[..., None]) -> Callable[..., None]:
    """The command with its parameter `change: Change` replaced, in place, by the options of
    `Change` (typer reads the signature: the options keep their place in `--help`)."""
    signature = inspect.signature(command, eval_str=True)
    parameters: list[inspect.Parameter] = []
    for parameter in signature.parameters.values():
        if parameter.name != "change":
            parameters.append(parameter)
            continue
        parameters += [
            inspect.Parameter(name, parameter.kind, default=default, annotation=annotation)
            for name, annotation, default in _CHANGE_OPTIONS
        ]

    @functools.wraps(command)
    def run(*args: Any, **kwargs: Any) -> None:
        change = Change(**{name: kwargs.pop(name) for name, _, _ in _CHANGE_OPTIONS})
        command(*args, change=change, **kwargs)

    run.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    run.__annotations__ = {p.name: p.annotation for p in parameters}
    return run


def sources(
    request: type[R],
    change: Change,
    emergency: str | None = None,
    *,
    two_dot: bool = False,
    **options: Any,
) -> R:
    """A request about a change (`api.PlanRequest`, `ExplainRequest`, `EmitRequest`) from the
    options `plan`, `explain` and `emit` share, and the command's own `options`."""
    named = {field.name: getattr(change, field.name) for field in dataclasses.fields(change)}
    text, named["changed_files_source"] = read_changed_files(change.changed_files)
    named["changed_files"] = text
    return request(**named, emergency=emergency, two_dot=two_dot, **options)
