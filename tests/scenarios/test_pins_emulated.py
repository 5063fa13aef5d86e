"""Pins that really hold back, checked the way the controllers would apply them.

For fleets nested two levels (Flux multi-tenancy shape, Argo CD app-of-apps of apps), a
one-level app-of-apps and a flat overlay fleet, for both targets: emit at every `--released
K`, and drive a rollout (start, every advance, a step rollback, a whole rollback) through
the applied fleet view. After each, `tests/testing/controllers.py` follows every Flux
Kustomization and Argo CD Application from each cluster's emitted objects to the revision
it would really apply and renders it with `kubectl kustomize`: the leaf objects must be
exactly those of the cluster's pinned revision (no head content before its step, no lag
after it). The emitted objects stay valid against the CRD schemas.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
import yaml

from planner import api
from planner.adapters import rolloutrepo
from planner.release import model
from planner.release.model import Rollout
from planner.target import Target
from tests.testing.controllers import Emulator, Trees, argocd_start, flux_start
from tests.testing.emitkit import expected_revisions, schema_errors
from tests.testing.fleetrepo import FleetRepo
from tests.testing.marks import requires_kubectl

pytestmark = [requires_kubectl, pytest.mark.slow]

URLS = {
    "flux-nested": "https://github.com/example/flux-nested",
    "argocd-nested": "https://github.com/example/argo-fleet",
    "argocd-app-of-apps": "https://github.com/example/fleet-config",
    "base-change": "https://git.example.com/platform/fleet",
}
CASES = [
    ("flux-nested", "flux"),
    ("argocd-nested", "flux"),
    ("argocd-nested", "argocd"),
    ("argocd-app-of-apps", "flux"),
    ("argocd-app-of-apps", "argocd"),
    ("base-change", "flux"),
    ("base-change", "argocd"),
]
STARTS: dict[str, Callable[[Mapping[str, bytes], str], list[dict[str, Any]]]] = {
    "flux": flux_start,
    "argocd": argocd_start,
}


def _git(repo: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args], capture_output=True, text=True, check=True
    ).stdout


def _built(fleet: Callable[[str], FleetRepo], name: str) -> FleetRepo:
    built = fleet(name)
    _git(built.path, "remote", "add", "origin", URLS[name])
    return built


def _emulator(built: FleetRepo, tmp_path: Path, name: str) -> Emulator:
    slug = "/".join(URLS[name].removesuffix(".git").split("/")[-2:])
    return Emulator(Trees(built.path, tmp_path / "trees"), built.head, slug)


def _tree(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


_VALID: set[tuple[str, bytes]] = set()


def _schema_errors(files: Mapping[str, bytes]) -> list[str]:
    """`schema_errors` of the files not found valid before in this run (the verdict depends
    on a file's name and bytes only)."""
    fresh = {p: d for p, d in files.items() if (PurePosixPath(p).name, d) not in _VALID}
    errors = schema_errors(fresh)
    if not errors:
        _VALID.update((PurePosixPath(p).name, d) for p, d in fresh.items())
    return errors


def check_applied(
    emulator: Emulator,
    files: Mapping[str, bytes],
    target: str,
    expected: Mapping[str, str],
    built: FleetRepo,
) -> int:
    """Every cluster applies exactly its pinned revision; the number whose base and head
    differ (so that the check means something)."""
    assert _schema_errors(files) == []
    telling = 0
    for cluster, revision in sorted(expected.items()):
        start = STARTS[target](files, cluster)
        actual = emulator.applied(start)
        wanted = emulator.applied(start, force=revision)
        other = emulator.applied(start, force=built.base if revision == built.head else built.head)
        leaked = revision == built.base and actual == other
        assert actual == wanted, (
            f"{cluster} pinned to {'base' if revision == built.base else 'head'} applies "
            + ("head content before its step" if leaked else "other content (lag or leak)")
        )
        telling += wanted != other
    return telling


@pytest.mark.parametrize(("name", "target"), CASES)
def test_emit_holds_back_every_step(
    fleet: Callable[[str], FleetRepo], tmp_path: Path, name: str, target: str
) -> None:
    built = _built(fleet, name)
    emulator = _emulator(built, tmp_path, name)
    telling = 0
    released, waves = 0, 0
    while released <= waves:  # every --released K from 0 to the number of waves
        result = api.emit(
            api.EmitRequest(
                repo=built.path,
                base=built.base,
                head=built.head,
                target=target,
                out=tmp_path / f"out-{released}",
                released=released,
            )
        )
        assert not result.refused, result.leaks
        expected = expected_revisions(result.plan, released)
        telling += check_applied(emulator, result.files, target, expected, built)
        waves = len(result.plan.waves)
        released += 1
    assert released > 1
    assert telling > 0


def _release_all(root: Path, name: str, state: Rollout) -> Iterator[Rollout]:
    for _ in state.steps:
        yield api.rollout_advance(
            api.RolloutAdvanceRequest(
                repo=root, name=name, approve=True, by="qa", force=True, reason="emulated"
            )
        ).view.state


@pytest.mark.parametrize(("name", "target"), CASES)
def test_rollout_fleet_view_holds_back_every_transition(
    fleet: Callable[[str], FleetRepo],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    target: str,
) -> None:
    built = _built(fleet, name)
    monkeypatch.setenv(rolloutrepo.NOW_VARIABLE, "2024-01-03T09:00:00Z")
    emulator = _emulator(built, tmp_path, name)
    root = built.path
    view_dir = root / "waves" / "fleet" / target

    def check(state: Rollout) -> None:
        expected = model.pins(state)
        check_applied(emulator, _tree(view_dir), target, expected, built)
        own = _tree(root / "waves" / state.name / target)
        check_applied(emulator, own, target, expected, built)

    state = api.rollout_start(
        api.RolloutStartRequest(
            repo=root, name="change", base=built.base, head=built.head, target=Target(target)
        )
    ).state
    check(state)
    for advanced in _release_all(root, "change", state):
        check(advanced)
    first = state.steps[0].name
    state = api.rollout_rollback(
        api.RolloutRollbackRequest(repo=root, name="change", step=first)
    ).state
    check(state)
    state = api.rollout_rollback(api.RolloutRollbackRequest(repo=root, name="change")).state
    check(state)


def _strip_pins(files: Mapping[str, bytes]) -> dict[str, bytes]:
    """The same manifests without the nested pins (what wave-planner wrote before)."""
    out: dict[str, bytes] = {}
    for path, data in files.items():
        if not path.endswith(".yaml"):
            out[path] = data
            continue
        docs = [d for d in yaml.safe_load_all(data) if d]
        for doc in docs:
            doc.get("spec", {}).pop("patches", None)
            template = doc.get("spec", {}).get("template", {})
            template.get("spec", {}).get("source", {}).pop("kustomize", None)
        out[path] = yaml.safe_dump_all(docs).encode()
    return out


@pytest.mark.parametrize(("name", "target"), [("flux-nested", "flux"), ("argocd-nested", "argocd")])
def test_without_nested_pins_held_clusters_get_head_content(
    fleet: Callable[[str], FleetRepo], tmp_path: Path, name: str, target: str
) -> None:
    """The emulation has teeth: pinning only the entry path leaks the change."""
    built = _built(fleet, name)
    emulator = _emulator(built, tmp_path, name)
    result = api.emit(
        api.EmitRequest(
            repo=built.path,
            base=built.base,
            head=built.head,
            target=target,
            out=tmp_path / "out",
            released=0,
        )
    )
    files = _strip_pins(result.files)
    for cluster in result.plan.affected_names():
        start = STARTS[target](files, cluster)
        assert emulator.applied(start) == emulator.applied(start, force=built.head)
        assert emulator.applied(start) != emulator.applied(start, force=built.base)
