"""The app loads a command's module only when the command runs, its help is shown or the
app's help lists it; what the app knows without loading (names, order) is what the command
modules register."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys

import pytest
import typer
from typer.testing import CliRunner

from planner import cli

# The command modules, and the planner's heavy modules no command needs to parse arguments.
COMMAND_MODULES = tuple(f"planner.cli.{m}" for m in sorted(set(cli.COMMANDS.values())))
HEAVY = ("planner.api.inputs", "planner.plan", "planner.policy", "yaml", "git", "networkx")

_LOADED = """
import sys
from planner.cli import main

try:
    main(sys.argv[1:])
except SystemExit as exc:
    print("exit", exc.code, file=sys.stderr)
print(sorted(m for m in sys.modules if m.startswith("planner.cli.") or m in {heavy!r}),
      file=sys.stderr)
"""


def _loaded(*args: str) -> tuple[int, list[str]]:
    """The exit code of `wave-planner ARGS` and the modules it loaded (of those named)."""
    code = _LOADED.format(heavy=(*COMMAND_MODULES, *HEAVY))
    out = subprocess.run(
        [sys.executable, "-c", code, *args], check=False, capture_output=True, text=True
    )
    lines = out.stderr.strip().splitlines()
    exit_line, loaded = lines[-2], lines[-1]
    assert exit_line.startswith("exit "), out.stderr
    return int(exit_line.split()[1]), ast.literal_eval(loaded)


def test_the_table_names_every_command_in_the_order_help_lists_them() -> None:
    names: list[str] = []
    groups: list[str] = []
    for module in dict.fromkeys(cli.COMMANDS.values()):
        holder = typer.Typer()
        importlib.import_module(f"planner.cli.{module}").register(holder)
        registered = [c.name or "" for c in holder.registered_commands]
        grouped = [cli._group_name(g) or "" for g in holder.registered_groups]
        assert dict.fromkeys(registered + grouped, module).items() <= cli.COMMANDS.items()
        names += registered
        groups += grouped
    assert list(cli.COMMANDS) == names + groups  # typer's order: commands, then groups


@pytest.mark.parametrize(
    ("args", "module", "code"),
    [
        (["rollout", "status", "--help"], "planner.cli.rollout", 0),
        (["rollout", "nosuch"], "planner.cli.rollout", 2),
        (["rollout", "status"], "planner.cli.rollout", 2),  # missing NAME
        (["plan", "--bogus"], "planner.cli.commands", 2),
        (["emit", "--help"], "planner.cli.emit", 0),
        (["init", "--help"], "planner.cli.init", 0),
    ],
)
def test_a_command_loads_its_own_module_only(args: list[str], module: str, code: int) -> None:
    exit_code, loaded = _loaded(*args)
    assert exit_code == code
    assert module in loaded
    assert not set(loaded) & (set(COMMAND_MODULES) - {module}), loaded
    assert not set(loaded) & set(HEAVY), loaded


def test_version_and_a_typo_load_no_command_module() -> None:
    for args in (["--version"], ["plna"]):
        _, loaded = _loaded(*args)
        assert not set(loaded) & set(COMMAND_MODULES), (args, loaded)


def test_the_app_help_lists_every_command_and_suggests_on_a_typo() -> None:
    result = CliRunner().invoke(cli.app, ["--help"])
    listed = [line.split()[0] for line in result.stdout.split("Commands:\n")[1].splitlines()]
    assert listed == list(cli.COMMANDS)
    typo = CliRunner().invoke(cli.app, ["rolout"])
    assert typo.exit_code == 2
    assert "Did you mean 'rollout'?" in typo.stderr


def test_a_group_builds_only_the_command_that_is_looked_up(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[str] = []
    real = cli._command

    def counted(info: typer.models.CommandInfo) -> object:
        built.append(str(info.name))
        return real(info)

    monkeypatch.setattr(cli, "_command", counted)
    holder = typer.Typer()
    importlib.import_module("planner.cli.rollout").register(holder)
    info = holder.registered_groups[0]
    assert info.typer_instance is not None
    group = cli._group(info)
    assert built == []
    assert group.commands["status"].name == "status"
    assert group.commands["status"] is group.commands["status"]
    assert built == ["status"]
    registered = info.typer_instance.registered_commands  # (once per `register` call)
    assert list(group.commands) == list(dict.fromkeys(c.name for c in registered))
