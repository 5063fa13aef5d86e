"""Habits from kubectl, flux and argocd: `-o`, options from the environment, help as
written, completion of cluster and rollout names."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
import yaml
from typer.testing import CliRunner

from planner.cli import app
from planner.cli.complete import cluster_names, rollout_names
from planner.cli.helptext import keep_breaks
from tests.testing.fleetrepo import FleetRepo

runner = CliRunner()


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def test_plan_output_formats_agree(demo: FleetRepo) -> None:
    rng = ["--repo", str(demo.path), "--base", demo.base, "--head", demo.head]
    _, as_json, _ = _run("plan", *rng, "-o", "json")
    _, by_format, _ = _run("plan", *rng, "--format", "json")
    _, as_yaml, _ = _run("plan", *rng, "-o", "yaml")
    assert as_json == by_format
    assert yaml.safe_load(as_yaml) == json.loads(as_json)
    _, wide, _ = _run("plan", *rng, "-o", "wide")
    assert "prod-eu-west-1" in wide
    _, markdown, _ = _run("plan", *rng, "--output", "markdown")
    assert markdown.startswith("<!-- wave-planner:plan -->")


def test_explain_keeps_json_and_takes_o(demo: FleetRepo) -> None:
    rng = ["--repo", str(demo.path), "--base", demo.base, "--head", demo.head]
    _, old, _ = _run("explain", "prod-eu-west-1", *rng, "--json")
    _, new, _ = _run("explain", "prod-eu-west-1", *rng, "-o", "json")
    _, as_yaml, _ = _run("explain", "prod-eu-west-1", *rng, "-o", "yaml")
    assert old == new and json.loads(old)["affected"] is True
    assert yaml.safe_load(as_yaml) == json.loads(old)


@pytest.mark.parametrize(
    "args",
    [
        ["validate", "-o", "yaml"],
        ["graph", "-o", "yaml"],
        ["schema", "inventory", "-o", "yaml"],
        ["preview", "--inventory", "{repo}/clusters.yaml", "-o", "yaml"],
        ["rollout", "list", "-o", "json"],
    ],
)
def test_every_command_takes_o(demo: FleetRepo, args: list[str]) -> None:
    args = [a.replace("{repo}", str(demo.path)) for a in args]
    if args[0] in ("validate", "graph") or args[:2] == ["rollout", "list"]:
        args += ["--repo", str(demo.path)]
    code, out, err = _run(*args)
    assert code == 0, err
    assert yaml.safe_load(out) is not None


def test_a_format_a_command_does_not_print_is_a_usage_error(demo: FleetRepo) -> None:
    code, _, err = _run("schema", "policy", "-o", "markdown")
    assert code == 2
    assert "-o markdown is not available for this command" in err
    assert "use one of: json, yaml" in err


def test_options_from_the_environment(demo: FleetRepo) -> None:
    env = {
        "WAVE_PLANNER_REPO": str(demo.path),
        "WAVE_PLANNER_BASE": demo.base,
        "WAVE_PLANNER_INVENTORY": str(demo.path / "clusters.yaml"),
    }
    code, out, err = _run("plan", "--head", demo.head, "-o", "json", env=env)
    assert code == 0, err
    assert json.loads(out)["base"] == demo.base
    code, out, _ = _run("plan", "--help")
    for name in ("WAVE_PLANNER_REPO", "WAVE_PLANNER_INVENTORY", "WAVE_PLANNER_POLICY"):
        assert name in out


def test_help_examples_keep_their_line_breaks() -> None:
    _, out, _ = _run("preview", "--help")
    assert "wave-planner preview --inventory clusters.yaml \\\n" in out
    _, out, _ = _run("rollout", "start", "--help")
    assert "--head HEAD \\\n" in out
    doc = "Text.\n\n    Example:\n\n      a \\\n        b\n"
    assert keep_breaks(doc).split("\n\n")[2] == "\b\n  a \\\n    b"


def test_usage_shows_argument_names() -> None:
    _, out, _ = _run("explain", "--help")
    assert out.startswith("Usage: wave-planner explain [OPTIONS] CLUSTER")
    _, out, _ = _run("rollout", "status", "--help")
    assert out.startswith("Usage: wave-planner rollout status [OPTIONS] NAME")


class _Ctx:
    def __init__(self, **params: object) -> None:
        self.params = params


def test_completion_of_cluster_names(demo: FleetRepo) -> None:
    names = cluster_names(_Ctx(repo=demo.path), "prod-eu")
    assert names == ["prod-eu-west-1", "prod-eu-west-2"]
    assert cluster_names(_Ctx(repo=demo.path / "missing"), "") == []


def test_completion_of_rollout_names(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("region-change")
    for name in ("cve-1", "cve-2", "other"):
        folder = built.path / "waves" / name
        folder.mkdir(parents=True)
        (folder / "rollout.yaml").write_text("{}\n")
    assert rollout_names(_Ctx(repo=built.path), "cve") == ["cve-1", "cve-2"]
