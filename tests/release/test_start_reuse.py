"""`rollout start` reuses what it already holds: the plan's parsed kustomizations for the
nested pins (its own folder's and the fleet view's) and the inventory it parsed for the
fleet view. Whatever it writes must be byte for byte what the full path writes: every
kustomization parsed again by the pin tracer, the fleet view reading the inventory again."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from planner import api
from planner.adapters import rolloutrepo
from planner.adapters.lock import PRIVATE_DIR
from planner.api import fleet
from planner.pins.applied import HeldParseCache
from planner.target import Target
from tests.testing.fleetrepo import SCENARIOS_DIR, FleetRepo, build_fleet_repo

URLS = {  # the repository the fleet's nested objects name
    "flux-nested": "https://github.com/example/flux-nested",
    "argocd-nested": "https://github.com/example/argo-fleet",
    "argocd-app-of-apps": "https://github.com/example/fleet-config",
}
CASES = [("flux-nested", "flux"), ("argocd-nested", "argocd"), ("argocd-app-of-apps", "flux")]


def _start(repo: FleetRepo, name: str, target: str) -> dict[str, bytes]:
    subprocess.run(["git", "-C", str(repo.path), "remote", "add", "origin", URLS[name]], check=True)
    api.rollout_start(
        api.RolloutStartRequest(
            repo=repo.path, name="change", base=repo.base, head=repo.head,
            target=Target(target), by="qa", allow_unpinned=True,
        )
    )  # fmt: skip
    waves = repo.path / rolloutrepo.WAVES_DIR
    return {
        p.relative_to(waves).as_posix(): p.read_bytes()
        for p in sorted(waves.rglob("*"))
        if p.is_file() and PRIVATE_DIR not in p.relative_to(waves).parts
    }


@pytest.mark.parametrize(("name", "target"), CASES)
def test_start_writes_what_the_full_path_writes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, target: str
) -> None:
    monkeypatch.setenv(rolloutrepo.NOW_VARIABLE, "2024-01-03T09:00:00Z")
    reused = _start(build_fleet_repo(SCENARIOS_DIR / name, tmp_path / "reused"), name, target)

    view = fleet.view_files

    def full_view(*args: Any, **kwargs: Any) -> Any:
        kwargs.pop("known", None)
        return view(*args, **kwargs)

    monkeypatch.setattr(HeldParseCache, "get", lambda *_: None)  # every file parsed again
    monkeypatch.setattr(fleet, "view_files", full_view)
    full = _start(build_fleet_repo(SCENARIOS_DIR / name, tmp_path / "full"), name, target)
    assert any(b"patches" in data for p, data in reused.items() if p.startswith("fleet/"))
    assert reused == full
