"""The planning commands through typer's runner: output, formats and exit codes."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import __version__
from planner.cli import app
from tests.testing.fleetrepo import FleetRepo
from tests.testing.paths import DATA_DIR

runner = CliRunner()


def run(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_version_and_help() -> None:
    code, out, _ = run("--version")
    assert code == 0 and out.strip() == f"wave-planner {__version__}"
    for command in ("plan", "explain", "graph", "preview", "validate", "schema"):
        code, out, _ = run(command, "--help")
        assert code == 0 and "Example" in out, command


def test_plan_demo_table() -> None:
    code, out, _ = run("plan", "--demo")
    assert code == 0
    assert "7 of 7 clusters affected (100%), scope global, 4 step(s)" in out
    assert "production-2" in out


def test_plan_json_contract(demo: FleetRepo) -> None:
    code, out, _ = run(
        "plan",
        "--repo",
        str(demo.path),
        "--base",
        demo.base,
        "--head",
        demo.head,
        "--format",
        "json",
    )
    assert code == 0
    plan = json.loads(out)
    assert plan["schema_version"] == 1
    assert plan["base"] == demo.base and plan["head"] == demo.head
    for key in (
        "changed_files",
        "changed_layers",
        "affected",
        "unaffected",
        "violations",
        "warnings",
        "waves",
        "skipped_waves",
    ):
        assert key in plan, key
    assert plan["changed_layers"] == [
        {
            "path": "base",
            "scope": "global",
            "files": ["base/monitoring/namespace.yaml"],
            "clusters": 7,
        }
    ]
    assert [s["name"] for s in plan["waves"]] == [
        "canary",
        "staging",
        "production-1",
        "production-2",
    ]
    assert set(plan["waves"][0]) >= {"name", "wave", "clusters", "bake", "approval"}
    stepped = sorted(c for s in plan["waves"] for c in s["clusters"])
    assert stepped == sorted(a["cluster"] for a in plan["affected"])


def test_plan_is_deterministic(demo: FleetRepo) -> None:
    args = (
        "plan",
        "--repo",
        str(demo.path),
        "--base",
        demo.base,
        "--head",
        demo.head,
        "-f",
        "json",
    )
    assert run(*args)[1] == run(*args)[1]


def test_plan_with_violations_exits_1_and_prints_the_plan(
    fleet: Callable[[str], FleetRepo],
) -> None:
    built = fleet("incident")
    code, out, _ = run(
        "plan", "--repo", str(built.path), "--base", built.base, "--head", built.head
    )
    assert code == 1
    assert "identity-mismatch" in out and "prod-eu-west-2" in out and "production-1" in out


def test_emergency_puts_everything_in_one_step(demo: FleetRepo) -> None:
    code, out, _ = run(
        "plan",
        "--repo",
        str(demo.path),
        "--base",
        demo.base,
        "--head",
        demo.head,
        "-f",
        "json",
        "--emergency",
        "--reason",
        "CVE-2026-1234",
    )
    plan = json.loads(out)
    assert code == 0
    assert [s["name"] for s in plan["waves"]] == ["emergency"]
    assert plan["emergency"] == {"reason": "CVE-2026-1234"}


def test_emergency_needs_a_reason(demo: FleetRepo) -> None:
    code, _, err = run("plan", "--repo", str(demo.path), "--emergency")
    assert code == 2 and "--emergency needs --reason" in err


def test_changed_files_list_instead_of_git(demo: FleetRepo, tmp_path: Path) -> None:
    listing = tmp_path / "changed.txt"
    listing.write_text("regions/eu-west/kustomization.yaml\n")
    code, out, _ = run(
        "plan",
        "--repo",
        str(demo.path),
        "--base",
        demo.head,
        "--changed-files",
        str(listing),
        "-f",
        "json",
    )
    assert code == 0
    assert sorted(a["cluster"] for a in json.loads(out)["affected"]) == [
        "prod-eu-west-1",
        "prod-eu-west-2",
    ]


def test_worktree_plans_uncommitted_changes(demo: FleetRepo) -> None:
    path = demo.path / "clusters" / "prod-us-east-1" / "kustomization.yaml"
    path.write_text(path.read_text() + "namePrefix: x-\n")
    code, out, _ = run(
        "plan", "--repo", str(demo.path), "--base", "HEAD", "--worktree", "-f", "json"
    )
    assert code == 0
    plan = json.loads(out)
    assert [a["cluster"] for a in plan["affected"]] == ["prod-us-east-1"]
    assert plan["head"] == "worktree"


def test_explain_affected_and_not_affected(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("region-change")
    base = ("--repo", str(built.path), "--base", built.base, "--head", built.head)
    code, out, _ = run("explain", "prod-eu-west-1", *base)
    assert code == 0
    assert "prod-eu-west-1 is affected" in out
    assert "regions/eu-west/kustomization.yaml" in out and "why this wave" in out
    code, out, _ = run("explain", "prod-us-east-1", *base)
    assert code == 0 and "is not affected" in out
    code, _, err = run("explain", "prod-eu-west-9", *base)
    assert code == 2 and "did you mean" in err


@pytest.mark.parametrize("fmt", ["mermaid", "dot", "json"])
def test_graph_formats(demo: FleetRepo, fmt: str) -> None:
    code, out, _ = run(
        "graph", "--repo", str(demo.path), "--cluster", "prod-eu-west-1", "--format", fmt
    )
    assert code == 0
    assert "regions/eu-west" in out
    assert "dev-us-east-1" not in out


def test_preview_selector(demo: FleetRepo) -> None:
    code, out, _ = run(
        "preview",
        "--inventory",
        str(demo.path / "clusters.yaml"),
        "--selector",
        "environment=production,region in (eu-west)",
    )
    assert code == 0
    assert "2 cluster(s)" in out and "prod-eu-west-2" in out and "prod-us-east-1" not in out


@pytest.mark.parametrize("name", ["inventory", "policy", "plan"])
def test_schemas_are_json(name: str) -> None:
    code, out, _ = run("schema", name)
    assert code == 0 and json.loads(out)["$schema"].startswith("https://json-schema.org/")


def test_policy_init_writes_a_loadable_policy(tmp_path: Path) -> None:
    out = tmp_path / "rollout.yaml"
    assert run("policy", "init", "--out", str(out))[0] == 0
    code, _, err = run("policy", "init", "--out", str(out))
    assert code == 2 and "already exists" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan", "--repo", "/nonexistent/fleet"), "does not exist"),
        (("plan", "--format", "yaml", "--demo"), "Invalid value"),
        (("plan", "--base", "no-such-rev"), "does not exist"),
    ],
)
def test_bad_input_exits_2_without_traceback(
    args: tuple[str, ...], message: str, demo: FleetRepo
) -> None:
    full = list(args)
    if "--repo" not in full:
        full += ["--repo", str(demo.path)]
    code, out, err = run(*full)
    assert code == 2
    assert message in out + err
    assert "Traceback" not in out + err


def test_internal_bug_exits_3_with_a_request_to_report(monkeypatch: pytest.MonkeyPatch) -> None:
    from planner import api

    def boom(*_: object, **__: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(api, "demo", boom)
    code, _, err = run("plan", "--demo")
    assert code == 3
    assert "Traceback" in err and "please report" in err


def test_relative_inventory_and_policy_are_found_in_the_repository(
    demo: FleetRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`--repo ../fleet --inventory clusters.yaml` means the fleet's clusters.yaml."""
    (demo.path / "rollout.yaml").write_text((DATA_DIR / "rollout.yaml").read_text())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    repo = os.path.relpath(demo.path, elsewhere)
    code, out, err = run(
        "plan",
        "--repo",
        repo,
        "--base",
        demo.base,
        "--head",
        demo.head,
        "--inventory",
        "clusters.yaml",
        "--policy",
        "rollout.yaml",
        "-f",
        "json",
    )
    assert code == 0, err
    assert json.loads(out)["policy"]["source"].endswith("rollout.yaml")
    code, _, err = run("validate", "--repo", repo, "--inventory", "clusters.yaml")
    assert code == 0, err
