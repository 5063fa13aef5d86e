"""`emit` and `rollout` refuse nested objects that cannot be pinned, naming the object and
the clusters it would leak to; `--allow-unpinned` writes anyway and says so."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import api
from planner.cli import app
from planner.errors import Refusal
from planner.target import Target
from tests.testing.fleetrepo import FleetRepo

URL = "https://github.com/example/flux-nested"


@pytest.fixture
def nested(fleet: Callable[[str], FleetRepo]) -> FleetRepo:
    """A Flux-layout fleet: under Argo CD its Kustomizations' GitRepository is not applied
    by the Application, so nothing can pin them."""
    built = fleet("flux-nested")
    subprocess.run(["git", "-C", str(built.path), "remote", "add", "origin", URL], check=True)
    return built


def emit(built: FleetRepo, out: Path, *extra: str) -> tuple[int, str]:
    args = ["emit", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    result = CliRunner().invoke(app, [*args, "--target", "argocd", "--out", str(out), *extra])
    return result.exit_code, result.stdout


def test_emit_refuses_and_names_object_file_and_clusters(nested: FleetRepo, tmp_path: Path) -> None:
    code, output = emit(nested, tmp_path / "out")
    assert code == 1, output
    assert not (tmp_path / "out").exists()
    line = next(ln for ln in output.splitlines() if "Kustomization flux-system/tenants" in ln)
    assert line.startswith("violation [unpinned]")
    assert "clusters/dev-eu-west-1/tenants.yaml" in line
    assert "dev-eu-west-1" in line
    assert "--allow-unpinned" in output


def test_allow_unpinned_writes_and_says_so(nested: FleetRepo, tmp_path: Path) -> None:
    code, output = emit(nested, tmp_path / "out", "--allow-unpinned")
    assert code == 0, output
    assert "warning [unpinned, allowed by --allow-unpinned]" in output
    assert (tmp_path / "out" / "kustomization.yaml").is_file()


def _start_bump(nested: FleetRepo, *, allow_unpinned: bool) -> api.RolloutStartRequest:
    return api.RolloutStartRequest(
        repo=nested.path,
        name="bump",
        base=nested.base,
        head=nested.head,
        target=Target.argocd,
        allow_unpinned=allow_unpinned,
    )


def test_rollout_start_refuses_unless_allowed(nested: FleetRepo) -> None:
    with pytest.raises(Refusal, match="Kustomization flux-system/tenants"):
        api.rollout_start(_start_bump(nested, allow_unpinned=False))
    assert not (nested.path / "waves").exists()
    view = api.rollout_start(_start_bump(nested, allow_unpinned=True))
    assert (nested.path / "waves" / "fleet" / "argocd" / "kustomization.yaml").is_file()
    assert "waves/fleet/argocd/kustomization.yaml" in view.written


def test_rollout_watch_refuses_unless_allowed(
    nested: FleetRepo, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WAVE_PLANNER_NOW", "2026-01-01T00:00:00Z")
    api.rollout_start(_start_bump(nested, allow_unpinned=True))
    state = nested.path / "waves" / "bump" / "rollout.yaml"
    before = state.read_bytes()
    args = ["rollout", "watch", "bump", "--repo", str(nested.path)]
    refused = CliRunner().invoke(app, args)
    assert refused.exit_code == 1, refused.output
    assert "--allow-unpinned" in refused.output
    assert state.read_bytes() == before
    allowed = CliRunner().invoke(app, [*args, "--allow-unpinned"])
    assert allowed.exit_code == 0, allowed.output
    assert state.read_bytes() != before
    assert "released" in allowed.output
