"""`wave-planner emit` end to end: real repositories, the files on disk, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import api
from planner.adapters.demo import ORIGIN, DemoRepo, build
from planner.adapters.files import MANIFEST
from planner.cli import app
from planner.emit.argocd import Strategy
from planner.emit.argocd import render as argocd_render
from planner.emit.flux import render as flux_render
from planner.emitrecord import INPUTS_FILE
from planner.plan import Plan
from tests.testing.emitkit import (
    argocd_elements,
    expected_revisions,
    flux_pins,
    planned,
    schema_errors,
)
from tests.testing.fleetrepo import SCENARIOS_DIR, FleetRepo, build_fleet_repo
from tests.testing.paths import ROOT
from tests.testing.policies import ISSUE_POLICY

runner = CliRunner()


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoRepo:
    return build(tmp_path_factory.mktemp("cli") / "fleet-config")


@pytest.fixture
def one_cluster(tmp_path: Path) -> FleetRepo:
    """A fleet where only prod-eu-west-1 is affected (no origin remote)."""
    return build_fleet_repo(SCENARIOS_DIR / "cluster-change", tmp_path / "fleet")


def emit(repo: FleetRepo | DemoRepo, out: Path, *args: str) -> tuple[int, str]:
    argv = ["emit", "--repo", str(repo.path), "--base", repo.base, "--head", repo.head]
    result = runner.invoke(app, [*argv, "--out", str(out), *args])
    return result.exit_code, result.output


def tree(folder: Path) -> dict[str, bytes]:
    """Every file below `folder` (hidden ones too) with its bytes."""
    if not folder.exists():
        return {}
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def generated(out: Path) -> dict[str, bytes]:
    return {p: d for p, d in tree(out).items() if p != MANIFEST}


# ------------------------------------------------------------------- committed waves/


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_committed_waves_match_the_demo(demo: DemoRepo, target: str) -> None:
    """What CI's .ci/check-waves runs: `emit --check` against the repository's waves/."""
    before = tree(ROOT / "waves" / target)
    code, output = emit(demo, ROOT / "waves" / target, "--target", target, "--check")
    assert code == 0, output
    assert "up to date" in output
    assert tree(ROOT / "waves" / target) == before


def test_check_waves_script_is_executable() -> None:
    script = ROOT / ".ci" / "check-waves"
    assert script.is_file()
    assert os.access(script, os.X_OK)
    assert script.read_text().startswith("#!/usr/bin/env bash")


def test_demo_origin_is_written_into_the_manifests(demo: DemoRepo, tmp_path: Path) -> None:
    code, _ = emit(demo, tmp_path / "out", "--target", "argocd")
    assert code == 0
    assert f"repoURL: {ORIGIN}\n" in (tmp_path / "out" / "wave-canary.yaml").read_text()


# ----------------------------------------------------------------- write and check


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_rerun_is_byte_identical(demo: DemoRepo, tmp_path: Path, target: str) -> None:
    out = tmp_path / "out"
    code, output = emit(demo, out, "--target", target, "--released", "1")
    assert code == 0, output
    first = tree(out)
    assert schema_errors(generated(out)) == []
    code, output = emit(demo, out, "--target", target, "--released", "1")
    assert code == 0
    assert "0 added, 0 changed, 0 removed" in output
    assert tree(out) == first


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_check_catches_drift_and_ignores_hand_kept_files(
    demo: DemoRepo, tmp_path: Path, target: str
) -> None:
    out = tmp_path / "out"
    assert emit(demo, out, "--target", target)[0] == 0
    (out / "README.md").write_text("kept by hand\n")
    (out / "extra").mkdir()
    (out / "extra" / "app.yaml").write_text("kind: ConfigMap\n")
    code, output = emit(demo, out, "--target", target, "--check")
    assert (code, "up to date" in output) == (0, True)

    victim = "wave-canary.yaml" if target == "argocd" else "clusters/dev-eu-west-1/sync.yaml"
    (out / victim).write_text("edited: by hand\n")
    (out / "kustomization.yaml").unlink()
    before = tree(out)
    code, output = emit(demo, out, "--target", target, "--check")
    assert code == 1
    assert f"differs: {victim}" in output
    assert "missing: kustomization.yaml" in output
    assert "README.md" not in output
    assert "extra/app.yaml" not in output
    assert tree(out) == before  # --check writes nothing

    assert emit(demo, out, "--target", target)[0] == 0
    assert emit(demo, out, "--target", target, "--check")[0] == 0
    assert (out / "README.md").read_text() == "kept by hand\n"
    assert (out / "extra" / "app.yaml").read_text() == "kind: ConfigMap\n"


def test_check_reports_released_changes_as_drift(demo: DemoRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert emit(demo, out, "--target", "argocd")[0] == 0
    code, output = emit(demo, out, "--target", "argocd", "--released", "1", "--check")
    assert code == 1
    assert "differs: wave-canary.yaml" in output


def test_switching_strategy_removes_only_generated_files(demo: DemoRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    assert emit(demo, out, "--target", "argocd")[0] == 0
    (out / "notes.yaml").write_text("kept: true\n")
    code, output = emit(demo, out, "--target", "argocd", "--argocd-strategy", "rolling-sync")
    assert code == 0, output
    assert "3 removed" in output
    assert sorted(tree(out)) == [
        INPUTS_FILE,
        MANIFEST,
        "kustomization.yaml",
        "notes.yaml",
        "wave-rollout.yaml",
    ]
    assert (out / "notes.yaml").read_text() == "kept: true\n"


# -------------------------------------------------------------------- pinning rule


@pytest.mark.parametrize("released", ["0", "1", "all"])
def test_only_affected_clusters_of_unreleased_steps_stay_on_base(
    one_cluster: FleetRepo, tmp_path: Path, released: str
) -> None:
    policy = tmp_path / "rollout.yaml"
    policy.write_text(ISSUE_POLICY + "flux:\n  url: https://git.example.com/fleet.git\n")
    out = tmp_path / "out"
    code, output = emit(
        one_cluster, out, "--target", "flux", "--policy", str(policy), "--released", released
    )
    assert code == 0, output
    pins = {name: commit for name, (commit, _) in flux_pins(generated(out)).items()}
    on_base = {n for n, c in pins.items() if c == one_cluster.base}
    assert on_base == ({"prod-eu-west-1"} if released == "0" else set())
    assert {c for n, c in pins.items() if n != "prod-eu-west-1"} == {one_cluster.head}


# --------------------------------------------------------------------- refusals


def test_violations_refuse_and_write_nothing(one_cluster: FleetRepo, tmp_path: Path) -> None:
    policy = tmp_path / "rollout.yaml"
    policy.write_text("waves:\n- {name: canary, selector: {matchLabels: {rollout.wave: canary}}}\n")
    out = tmp_path / "out"
    code, output = emit(one_cluster, out, "--target", "argocd", "--policy", str(policy))
    assert code == 1
    assert "refused" in output
    assert "prod-eu-west-1 matches no wave" in output
    assert not out.exists()


def test_an_unaffected_cluster_in_no_wave_is_never_dropped(
    one_cluster: FleetRepo, tmp_path: Path
) -> None:
    policy = tmp_path / "rollout.yaml"
    policy.write_text(
        "waves:\n- {name: prod, selector: {matchLabels: {environment: production}}}\n"
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    code, output = emit(one_cluster, out, "--target", "flux", "--policy", str(policy))
    assert code == 1
    assert "dev-us-east-1 matches no wave: it would be left out" in output
    assert tree(out) == {"keep.txt": b"x"}


def test_no_repository_url_exits_2_saying_how(one_cluster: FleetRepo, tmp_path: Path) -> None:
    code, output = emit(one_cluster, tmp_path / "out", "--target", "flux")
    assert code == 2
    assert "flux.url" in output
    assert "git remote add origin" in output
    assert not (tmp_path / "out").exists()


def test_an_scp_origin_becomes_ssh(one_cluster: FleetRepo, tmp_path: Path) -> None:
    subprocess.run(
        ["git", "-C", str(one_cluster.path), "remote", "add", "origin", "git@example.com:o/f.git"],
        check=True,
    )
    code, _ = emit(one_cluster, tmp_path / "out", "--target", "flux")
    assert code == 0
    sync = (tmp_path / "out" / "clusters" / "prod-eu-west-1" / "sync.yaml").read_text()
    assert "url: ssh://git@example.com/o/f.git\n" in sync


def test_out_that_is_a_file_exits_2_and_is_left_alone(demo: DemoRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.write_text("not a folder\n")
    for extra in ([], ["--check"]):
        code, output = emit(demo, out, "--target", "argocd", *extra)
        assert code == 2
        assert "is a file" in output
    assert out.read_text() == "not a folder\n"
    code, _ = emit(demo, out / "below", "--target", "argocd")
    assert code == 2
    assert out.read_text() == "not a folder\n"


@pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() == 0, reason="permissions do not bind root"
)
def test_read_only_out_exits_2_and_is_left_alone(demo: DemoRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("x")
    out.chmod(0o555)
    try:
        code, output = emit(demo, out, "--target", "flux")
        assert code == 2
        assert "cannot write" in output
        assert tree(out) == {"keep.txt": b"x"}
    finally:
        out.chmod(0o755)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--released", "9"], "only 4 step(s)"),
        (["--released", "two"], "not a number of steps"),
        (["--released", "-1"], "not a number of steps"),
        (["--worktree"], "not a commit"),
        (["--emergency"], "--emergency needs --reason"),
    ],
)
def test_bad_arguments_exit_2(
    demo: DemoRepo, tmp_path: Path, args: list[str], message: str
) -> None:
    code, output = emit(demo, tmp_path / "out", "--target", "argocd", *args)
    assert code == 2, output
    assert message in output
    assert not (tmp_path / "out").exists()


def test_emergency_is_one_step_and_recorded(demo: DemoRepo, tmp_path: Path) -> None:
    out = tmp_path / "out"
    args = ["--target", "argocd", "--emergency", "--reason", "CVE-2026-1234", "--released", "1"]
    code, output = emit(demo, out, *args)
    assert code == 0, output
    assert "released 1 of 1 steps" in output
    text = (out / "wave-production.yaml").read_text()
    assert "wave-planner.io/emergency: CVE-2026-1234\n" in text
    assert {e["step"] for e in argocd_elements(generated(out))} == {"emergency"}
    assert {e["revision"] for e in argocd_elements(generated(out))} == {demo.head}


def test_help() -> None:
    result = runner.invoke(app, ["emit", "--help"])
    assert result.exit_code == 0
    for option in ("--target", "--out", "--released", "--argocd-strategy", "--check"):
        assert option in result.output


# ------------------------------------------------------------- generated fleets


def generated_fleet(count: int, folder: Path) -> Path:
    """benchmarks/genfleet.py's fleet of `count` clusters, the issue's policy, an scp origin."""
    from benchmarks.genfleet import generate_fleet

    generate_fleet(count, folder / "repo")
    (folder / "rollout.yaml").write_text(ISSUE_POLICY)
    remote = "git@github.com:example/big-fleet.git"
    subprocess.run(
        ["git", "-C", str(folder / "repo"), "remote", "add", "origin", remote], check=True
    )
    return folder


@pytest.fixture(scope="module")
def fleet60(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return generated_fleet(60, tmp_path_factory.mktemp("fleet60"))


@pytest.fixture(scope="module", params=[60, 250], ids=["60-clusters", "250-clusters"])
def big_fleet(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, fleet60: Path
) -> Path:
    """60 clusters (10 production steps, 2 regions) and 250 (40 production steps of 1, 2 and
    5 clusters over 8 regions). The speed of a 5,000- or 10,000-cluster emit is measured by
    the bench (`nox -s bench`), which also checks that every cluster is emitted once."""
    count: int = request.param
    if count == 60:
        return fleet60
    return generated_fleet(count, tmp_path_factory.mktemp(f"fleet{count}"))


SHARD = 20  # sharded as larger fleets are by the default 500 (250 clusters: 13 rolling-sync shards)


def check_plan(plan: Plan) -> None:
    """The issue's policy on a generated fleet: waves in order, production steps of <= 5."""
    count = plan.summary.clusters_total
    assert plan.summary.clusters_affected == count  # a change to base/ reaches every cluster
    assert not plan.violations
    order = ["canary", "staging", "production"]
    waves = [s.wave for s in plan.waves]
    assert waves == sorted(waves, key=order.index)
    assert set(waves) == set(order)
    production = [s for s in plan.waves if s.wave == "production"]
    assert all(len(s.clusters) <= 5 for s in production)
    assert all(s.group and all(c.startswith(s.group) for c in s.clusters) for s in production)
    in_steps = [c for s in plan.waves for c in s.clusters]
    assert len(in_steps) == len(set(in_steps)) == count


def check_pins(plan: Plan, files: dict[str, bytes], target: str, released: int | str) -> None:
    """Every cluster exactly once, with the revision the pinning rule gives."""
    expected = expected_revisions(plan, released)
    if target == "argocd":
        elements = argocd_elements(files)
        assert len(elements) == plan.summary.clusters_total
        assert {e["cluster"]: e["revision"] for e in elements} == expected
    else:
        assert {n: c for n, (c, _) in flux_pins(files).items()} == expected


def fleet_sources(folder: Path) -> api.PlanRequest:
    return api.PlanRequest(
        repo=folder / "repo",
        base="change-base~1",
        head="change-base",
        policy=folder / "rollout.yaml",
    )


def test_generated_fleet_in_memory(big_fleet: Path) -> None:
    """Planned twice (re-runs identical), rendered for both targets; Argo CD waves larger
    than the shard size split into shards that still hold every cluster once."""
    first, second = planned(fleet_sources(big_fleet)), planned(fleet_sources(big_fleet))
    assert first.plan == second.plan
    check_plan(first.plan)
    url = "ssh://git@github.com/example/big-fleet.git"
    for released in (0, 3, "all"):
        rollout, again = first.rollout(released, url), second.rollout(released, url)
        renders = {
            "argocd": (
                argocd_render(rollout, first.policy.argocd, Strategy.list),
                argocd_render(again, second.policy.argocd, Strategy.list),
            ),
            "flux": (
                flux_render(rollout, first.policy.flux),
                flux_render(again, second.policy.flux),
            ),
        }
        for target, (files, rerun) in renders.items():
            assert files == rerun
            check_pins(first.plan, files, target, released)
            if released == 3:
                assert schema_errors(files) == []
    rolling = argocd_render(first.rollout(1, url), first.policy.argocd, Strategy.rolling_sync)
    check_pins(first.plan, rolling, "argocd", 1)
    assert schema_errors(rolling) == []
    sharded = first.policy.argocd.model_copy(update={"shard_size": SHARD})
    for strategy in Strategy:
        files = argocd_render(first.rollout(3, url), sharded, strategy)
        assert files == argocd_render(second.rollout(3, url), sharded, strategy)
        check_pins(first.plan, files, "argocd", 3)
        assert schema_errors(files) == []
        shards = [p for p in files if p != "kustomization.yaml"]
        assert len(shards) >= -(-first.plan.summary.clusters_total // SHARD) > 1


def test_generated_fleet_through_the_cli(fleet60: Path, tmp_path: Path) -> None:
    """60 clusters end to end: write, validate, pins, then `--check` on the re-run."""
    plan = planned(fleet_sources(fleet60)).plan
    check_plan(plan)
    common = ["--repo", str(fleet60 / "repo"), "--base", "change-base~1", "--head", "change-base"]
    common += ["--policy", str(fleet60 / "rollout.yaml")]
    for target in ("argocd", "flux"):
        out = tmp_path / target
        argv = ["emit", *common, "--target", target, "--out", str(out), "--released", "3"]
        result = runner.invoke(app, argv)
        assert result.exit_code == 0, result.output
        files = generated(out)
        url = "ssh://git@github.com/example/big-fleet.git"  # the scp-style origin, normalised
        assert all(url in data.decode() for p, data in files.items() if p.endswith("sync.yaml"))
        assert all(url in data.decode() for p, data in files.items() if p.startswith("wave-"))
        assert schema_errors(files) == []
        check_pins(plan, files, target, 3)
        first = tree(out)
        rerun = runner.invoke(app, [*argv, "--check"])
        assert rerun.exit_code == 0, rerun.output
        assert tree(out) == first


def test_check_waves_script_passes() -> None:
    """.ci/check-waves itself: builds the demo and finds waves/ up to date."""
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        [str(ROOT / ".ci" / "check-waves")], env=env, capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("up to date") == 2
