"""The command line: typer commands that parse arguments, call `planner.api` and print.

Exit codes are `planner.errors.ExitCode`, and exceptions are mapped to them in exactly one
place (`_Group.invoke`): 0 ok, 1 the plan has violations or `--check` found drift (the
command raises `typer.Exit(ExitCode.VIOLATIONS)`), 2 bad input or usage (a message on
stderr, no traceback), 3 an internal bug (traceback and a request to report it).

The commands are loaded lazily (`_Commands`): the app knows each command's name and the
module that defines it, and imports that module and builds the command only when the
command runs, its `--help` is shown or the app's help lists it; a group (`rollout`) builds
only the command looked up. Every command starts without the modules of the others;
heavy modules are imported inside the commands, so `--help` and `--version` start fast.
"""

from __future__ import annotations

import copy
import importlib
import sys
import traceback
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Annotated, Any, NoReturn

import typer
from typer.core import TyperGroup

from planner import __version__
from planner.errors import ExitCode, Refusal, UserError

# Every command of the app, in the order `--help` lists them (typer's: the commands, then
# the groups), and the module of `planner.cli` whose `register` adds it.
COMMANDS = {
    "plan": "commands",
    "explain": "commands",
    "graph": "commands",
    "preview": "commands",
    "validate": "commands",
    "schema": "commands",
    "emit": "emit",
    "init": "init",
    "policy": "commands",
    "rollout": "rollout",
}
_built: dict[str, Any] = {}  # command name -> click command, built once per process
_registered: dict[str, typer.Typer] = {}  # module -> the app its `register` filled


def _build(name: str) -> Any:
    """The click command (or group) `name`, as typer builds it for the whole app."""
    if name not in _built:
        module = COMMANDS[name]
        holder = _registered.get(module)
        if holder is None:
            from planner.cli import helptext

            holder = typer.Typer()
            importlib.import_module(f"{__name__}.{module}").register(holder)
            helptext.apply(holder)
            _registered[module] = holder
        _built[name] = _from(holder, name)
    return _built[name]


def _from(holder: typer.Typer, name: str) -> Any:
    for info in holder.registered_commands:
        if info.name == name:
            return _command(info)
    for group in holder.registered_groups:
        if _group_name(group) == name:
            return _group(group)
    raise AssertionError(f"planner.cli.{COMMANDS[name]} does not register {name!r}")


def _command(info: Any) -> Any:
    from typer.main import get_command_from_info

    from planner.cli.helptext import plain_usage

    return plain_usage(
        get_command_from_info(
            info,
            pretty_exceptions_short=app.pretty_exceptions_short,
            rich_markup_mode=app.rich_markup_mode,
        )
    )


def _group(group: Any) -> Any:
    """A command group whose commands are built on first use, as `_Commands` builds the
    app's (`rollout status` builds `status`, not the seven other rollout commands)."""
    from typer.main import get_command_name, get_group_from_info

    instance = group.typer_instance
    infos = {
        info.name or get_command_name(info.callback.__name__): info
        for info in instance.registered_commands
    }
    assert not instance.registered_groups, "a group of groups is built eagerly by typer"
    shell = copy.copy(group)  # the group as registered, without its commands
    shell.typer_instance = copy.copy(instance)
    shell.typer_instance.registered_commands = []
    built = get_group_from_info(
        shell,
        pretty_exceptions_short=app.pretty_exceptions_short,
        rich_markup_mode=app.rich_markup_mode,
        suggest_commands=app.suggest_commands,
    )
    made: dict[str, Any] = {}

    def build(name: str) -> Any:
        if name not in made:
            made[name] = _command(infos[name])
        return made[name]

    built.commands = _Commands(infos, build)  # type: ignore[assignment]
    return built


def _group_name(group: Any) -> str | None:
    from typer.models import DefaultPlaceholder

    if not isinstance(group.name, DefaultPlaceholder) and group.name:
        return str(group.name)
    instance = group.typer_instance
    named = instance.info.name if instance is not None else None
    return None if isinstance(named, DefaultPlaceholder) else named


class _Commands(Mapping[str, Any]):
    """Commands by name, in the order given: each built on first use (see the module
    docstring)."""

    def __init__(self, names: Iterable[str], build: Callable[[str], Any]) -> None:
        self._names = tuple(names)
        self._build = build

    def __getitem__(self, name: str) -> Any:
        if name not in self._names:
            raise KeyError(name)
        return self._build(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)


class _Group(TyperGroup):
    """The single place where exceptions become exit codes."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.commands = _Commands(COMMANDS, _build)  # type: ignore[assignment]

    def list_commands(self, ctx: Any) -> list[str]:
        return list(COMMANDS)

    def invoke(self, ctx: Any) -> Any:
        try:
            return super().invoke(ctx)
        except UserError as exc:
            for problem in exc.problems:
                typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(ExitCode.BAD_INPUT) from None
        except Refusal as exc:
            typer.echo(f"refused: {exc}", err=True)
            raise typer.Exit(ExitCode.VIOLATIONS) from None
        except (typer.Exit, typer.Abort):
            raise
        except KeyboardInterrupt:
            typer.echo("interrupted: nothing was left half-written", err=True)
            raise typer.Exit(130) from None
        except Exception as exc:
            if _is_usage_error(exc):
                raise
            traceback.print_exc()
            typer.echo(
                "internal error: this is a bug in wave-planner; please report it with the "
                "traceback above and the command you ran",
                err=True,
            )
            raise typer.Exit(ExitCode.BUG) from None


def _is_usage_error(exc: Exception) -> bool:
    """Click's own errors (bad option, missing argument): click reports them, exit 2."""
    return hasattr(exc, "exit_code") and hasattr(exc, "show")


app = typer.Typer(
    cls=_Group,
    name="wave-planner",
    help="Turn a change to a multi-cluster GitOps repository into an explicit, reviewable "
    "progressive rollout.\n\nExample: wave-planner plan --demo",
    no_args_is_help=True,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"wave-planner {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options."""


def main(argv: list[str] | None = None) -> NoReturn:
    """The command line in a process of its own: one command, then `SystemExit` with its
    exit code (the installed command ends through `run`)."""
    sys.exit(_command_line(argv))


def run(argv: list[str] | None = None) -> NoReturn:
    """The installed `wave-planner` and `python -m planner`: one command, then leave at once.

    A process that ran one command has nothing left to free: at 10,000 clusters, tearing
    down the parsed fleet object by object cost 0.1 to 0.5 CPU-seconds of every plan. So
    the streams are flushed and the process ends with `os._exit` (every file was already
    written and closed by its command; no exit hooks are registered). `main` keeps
    `SystemExit` for callers in Python.
    """
    import os

    code = _command_line(argv)
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            code = code or 120  # the reader went away: as the interpreter itself exits
    os._exit(code)


def _command_line(argv: list[str] | None) -> int:
    """Run the app on `argv` (else the process's arguments); its exit code."""
    _short_lived_gc()
    _no_pydantic_plugins()
    try:
        app(args=argv, prog_name="wave-planner")
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def _short_lived_gc() -> None:
    """One command, then exit: no cyclic garbage collection while it runs.

    Parsing a large fleet allocates millions of small objects that live until the end of the
    command; the cyclic collector would walk them again and again (a third of the run time
    at 10,000 clusters) to find almost nothing. Reference counting still frees everything
    else, so peak memory is unchanged (see docs/performance.md).
    """
    import gc

    gc.freeze()
    gc.disable()


def _no_pydantic_plugins() -> None:
    """No pydantic plugins in the command line, unless `PYDANTIC_DISABLE_PLUGINS` says.

    Pydantic looks for plugins (observers of validation) in the metadata of every installed
    package when it builds its first model: tens of milliseconds of every command, for
    nothing a command uses. A value the user set wins (an empty one keeps every plugin).
    """
    import os

    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
