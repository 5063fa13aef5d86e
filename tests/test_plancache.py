"""The rollout plan cache: the shortcut is taken only when it is exact.

A twin of the fleet repository runs every command with the cache removed first (the full
recomputation): both trees stay byte-identical, step after step, for both targets. Each
kind of drift (inventory, policy, clusters added or removed, a moved wave, a hand-edited
state, another plan format or tool) is still found when only a digest changes, and a
command that takes the shortcut never recomputes the plan.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from planner import plancache
from planner.adapters import plancache as plancache_files
from planner.api import rolloutcheck, rolloutwrite
from planner.cli import app
from planner.emit import argocd, flux, stepfiles
from planner.policy import ArgoCDSettings, FluxSettings
from planner.release.messages import dump_state, load_state
from tests.testing.fleetrepo import FleetRepo, build_fleet_repo, from_template
from tests.testing.rolloutfleet import POLICY, STEPS, git, start_args, tree_bytes, write_fleet

NAME = "region-settings"
Run = Callable[..., Any]


def runner_for(path: Path) -> Run:
    runner = CliRunner()

    def invoke(*args: str, minute: int = 0, code: int = 0) -> Any:
        hours, minutes = divmod(minute, 60)
        now = f"2024-01-03T{9 + hours:02d}:{minutes:02d}:00Z"
        result = runner.invoke(
            app, ["rollout", *args, "--repo", str(path)], env={"WAVE_PLANNER_NOW": now}
        )
        assert result.exit_code == code, (result.stdout, result.stderr)
        return result

    return invoke


@pytest.fixture(autouse=True)
def _no_user_git_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")


def _fleet(src: Path, dest: Path) -> FleetRepo:
    """The fleet of tests/cli/test_rollout.py (three waves, four steps, twelve clusters)."""
    write_fleet(src)
    built = build_fleet_repo(src, dest)
    git(built.path, "config", "user.name", "Release Manager")
    git(built.path, "config", "user.email", "rm@example.com")
    git(built.path, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
    return built


def started(tmp_path: Path, target: str) -> FleetRepo:
    """The fleet with the rollout started at 09:00 for `target`, as `rollout start` leaves it.

    Started once per test run and copied (the copy has the same bytes, and git re-reads
    the stat data it keeps in the index): the tests differ only in what comes after.
    """

    def start(dest: Path) -> FleetRepo:
        built = _fleet(dest.with_name(dest.name + "-src"), dest)
        runner_for(built.path)(*start_args(built, NAME, built.base, built.head, target))
        return built

    return from_template(("plan-cache rollout started", target), tmp_path / "fleet", start)


def cache_path(repo: Path) -> Path:
    return plancache_files.path(repo, NAME)


@pytest.fixture
def no_recompute(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Counts full recomputations (the shortcut must make none)."""
    calls: list[int] = []
    original = rolloutcheck.recompute

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(rolloutcheck, "recompute", counted)
    return calls


@pytest.fixture
def full_renders(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Counts full renders of a rollout's folder and of the fleet view."""
    from planner.api import fleet

    calls: list[str] = []
    manifests, view = rolloutwrite.rollout_manifests, fleet.view_files

    def counted_manifests(*args: Any, **kwargs: Any) -> Any:
        calls.append("rollout")
        return manifests(*args, **kwargs)

    def counted_view(*args: Any, **kwargs: Any) -> Any:
        calls.append("fleet view")
        return view(*args, **kwargs)

    monkeypatch.setattr(rolloutwrite, "rollout_manifests", counted_manifests)
    monkeypatch.setattr(fleet, "view_files", counted_view)
    return calls


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_the_shortcut_writes_exactly_what_a_recomputation_writes(
    tmp_path: Path,
    target: str,
    no_recompute: list[int],
    full_renders: list[str],
) -> None:
    if target == "argocd":  # small shards: a step touches some shards of its wave, not all
        repo = _fleet(tmp_path / "src", tmp_path / "fleet")
        (repo.path / "rollout.yaml").write_text(POLICY + "argocd:\n  shard_size: 2\n")
        runner_for(repo.path)(*start_args(repo, NAME, repo.base, repo.head, target))
    else:
        repo = started(tmp_path, target)
    fast = runner_for(repo.path)
    assert cache_path(repo.path).is_file()
    twin = tmp_path / "twin"
    shutil.copytree(repo.path, twin, symlinks=True)
    slow = runner_for(twin)
    commands: list[tuple[tuple[str, ...], int]] = [
        (("status", NAME), 0),
        (("advance", NAME), 5),
        (("advance", NAME), 65),
        (("advance", NAME, "--approve", "--by", "alice"), 130),
        (("rollback", NAME, "--step", "staging"), 140),
        (("advance", NAME, "--force", "--reason", "fixed forward"), 141),
        (("rollback", NAME), 150),
    ]
    for args, minute in commands:
        no_recompute.clear()
        full_renders.clear()
        shown = fast(*args, minute=minute).stdout
        if args[0] in ("status", "advance"):  # (a rollback recomputes)
            assert no_recompute == [], f"{args} recomputed the plan"
            assert full_renders == [], f"{args} rendered {full_renders} in full"
        cache_path(twin).unlink()
        again = slow(*args, minute=minute).stdout
        assert [x for x in again.splitlines() if "plan-cache.json" not in x] == shown.splitlines()
        assert no_recompute[-1:] == [1]
        shutil.copyfile(cache_path(repo.path), cache_path(twin))  # (only start writes it)
        assert tree_bytes(repo.path) == tree_bytes(twin), args


def test_advance_writes_only_the_released_steps_files(tmp_path: Path) -> None:
    repo = started(tmp_path, "flux")
    run = runner_for(repo.path)
    out = run("advance", NAME, minute=5).stdout
    wrote = sorted(  # (the applied fleet view under waves/fleet/ is written after it)
        line.split()[-1]
        for line in out.splitlines()
        if "wrote " in line and not line.split()[-1].startswith("waves/fleet/")
    )
    expected = [f"waves/{NAME}/flux/clusters/{c}/sync.yaml" for c in STEPS["canary"]]
    paths = [f"waves/{NAME}/flux/{w}.paths" for w in ("canary", "production", "staging")]
    assert wrote == sorted([*expected, *paths, f"waves/{NAME}/rollout.yaml"])


def test_a_deleted_folder_is_rendered_again(tmp_path: Path) -> None:
    repo = started(tmp_path, "flux")
    run = runner_for(repo.path)
    folder = repo.path / "waves" / NAME / "flux"
    shutil.rmtree(folder)
    run("advance", NAME, minute=5)
    assert (folder / "clusters" / "prod-ap-south-1" / "sync.yaml").is_file()
    assert (folder / ".wave-planner-manifest.json").is_file()


# ---------------------------------------------------------------- drift through a digest


def _inventory(repo: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load((repo / "clusters.yaml").read_text())
    return data


def _write_inventory(repo: Path, data: dict[str, Any]) -> None:
    (repo / "clusters.yaml").write_text(yaml.safe_dump(data, sort_keys=False))


def _remove_cluster(repo: Path) -> None:
    data = _inventory(repo)
    data["clusters"] = [c for c in data["clusters"] if c["name"] != "prod-eu-west-2"]
    _write_inventory(repo, data)


def _add_cluster(repo: Path) -> None:
    data = _inventory(repo)
    extra = {"name": "prod-eu-west-9", "labels": {"environment": "production",
             "region": "eu-west"}, "server": "https://prod-eu-west-9.k8s.example.com"}  # fmt: skip
    data["clusters"].append(extra)
    _write_inventory(repo, data)


def _move_wave(repo: Path) -> None:
    data = _inventory(repo)
    for cluster in data["clusters"]:
        if cluster["name"] == "staging-ap-south-1":
            cluster["labels"]["rollout.wave"] = "canary"
    _write_inventory(repo, data)


def _policy(repo: Path) -> None:
    (repo / "rollout.yaml").write_text(POLICY.replace("max_clusters: 5", "max_clusters: 1"))


def _state(repo: Path) -> None:
    path = repo / "waves" / NAME / "rollout.yaml"
    state = load_state(path.read_bytes(), source="rollout.yaml")
    steps = tuple(
        s.model_copy(update={"clusters": ("prod-eu-west-1",)}) if s.name == "production-1" else s
        for s in state.steps
    )
    path.write_bytes(dump_state(state.model_copy(update={"steps": steps})))


def _plan_format(repo: Path) -> None:
    path = cache_path(repo)
    path.write_text(path.read_text().replace("plan cache v1", "plan cache v0"))


DRIFTS: dict[str, tuple[Callable[[Path], None], str]] = {
    "cluster removed": (_remove_cluster, "prod-eu-west-2 (an affected cluster) was removed"),
    "cluster added": (_add_cluster, "cluster prod-eu-west-9 was added to the inventory"),
    "wave moved": (_move_wave, "staging-ap-south-1 moved from wave staging to wave canary"),
    "policy": (_policy, "the policy changed"),
    "state edited": (_state, "step production-1 now holds different clusters"),
}


@pytest.mark.parametrize("kind", sorted(DRIFTS))
def test_each_kind_of_drift_is_still_detected(tmp_path: Path, kind: str) -> None:
    repo = started(tmp_path, "argocd")
    run = runner_for(repo.path)
    change, message = DRIFTS[kind]
    change(repo.path)
    shown = run("status", NAME, code=1)
    assert message in shown.stderr
    before = tree_bytes(repo.path)
    refused = run("advance", NAME, minute=5, code=1)
    assert "no longer matches the repository" in refused.stderr
    assert tree_bytes(repo.path) == before


def test_the_same_plan_from_other_bytes_is_recomputed(
    tmp_path: Path, no_recompute: list[int]
) -> None:
    repo = started(tmp_path, "argocd")
    run = runner_for(repo.path)
    recorded = cache_path(repo.path).read_bytes()
    inventory = repo.path / "clusters.yaml"
    inventory.write_text("# reviewed\n" + inventory.read_text())
    no_recompute.clear()
    run("status", NAME)
    assert no_recompute == [1]  # the digest changed: recomputed, no drift
    assert cache_path(repo.path).read_bytes() == recorded  # status writes nothing


@pytest.mark.parametrize("change", ["origin", "tool", "plan format", "cache format"], ids=str)
def test_other_inputs_invalidate_the_cache(
    tmp_path: Path, change: str, monkeypatch: pytest.MonkeyPatch, no_recompute: list[int]
) -> None:
    repo = started(tmp_path, "argocd")
    run = runner_for(repo.path)
    if change == "origin":
        git(repo.path, "remote", "set-url", "origin", "https://git.example.com/other/fleet.git")
    elif change == "tool":
        monkeypatch.setattr(plancache_files, "code_digest", lambda: "another-build")
    elif change == "plan format":
        monkeypatch.setattr(plancache, "PLAN_FORMAT", plancache.PLAN_FORMAT + 1)
    else:
        _plan_format(repo.path)
    no_recompute.clear()
    run("status", NAME)
    assert no_recompute == [1]


# What `status` with a matching cache must not load (the planner, its policy types, the gates,
# the step writer, PyYAML and the other commands), and what `advance` of one step from it must
# not load (the planner, the nested-pin tracer, the other commands): each is hundredths to
# tenths of a second of every such command.
NOT_FOR_ADVANCE = (
    "git",
    "networkx",
    "planner.api.inputs",
    "planner.impact",
    "planner.plan",
    "planner.cli.commands",
    "planner.cli.emit",
    "planner.cli.init",
    "planner.hierarchy.parsing",
    "planner.pins.nesting",
    "planner.pins.pinning",
)
NOT_FOR_STATUS = (
    *NOT_FOR_ADVANCE,
    "planner.api.gating",
    "planner.api.rolloutwrite",
    "planner.emit.pinned",
    "planner.gates",
    "planner.inventory",
    "planner.policy",
    "planner.yamlsafe",
    "yaml",
)
_LOADED = """
import sys
from planner.cli import main

def run(args, heavy):
    try:
        main(args)
    except SystemExit as exc:
        assert exc.code == 0, exc.code
    print(sorted(m for m in sys.modules if m in heavy), file=sys.stderr)
"""


def test_status_and_advance_from_the_cache_load_no_planner_module(tmp_path: Path) -> None:
    repo = started(tmp_path, "argocd")
    where = ["--repo", str(repo.path)]
    code = _LOADED + (
        f"run(['rollout', 'status', {NAME!r}, *{where!r}], {NOT_FOR_STATUS!r})\n"
        f"run(['rollout', 'advance', {NAME!r}, '--approve', '--by', 'me', *{where!r}], "
        f"{NOT_FOR_ADVANCE!r})\n"
    )
    env = {**os.environ, "WAVE_PLANNER_NOW": "2024-01-03T09:05:00Z"}
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert f"rollout {NAME}: advance canary: released" in out.stdout, out.stdout
    assert out.stderr.strip().splitlines()[-2:] == ["[]", "[]"]
    # and from the state an advance wrote (its events' details read without PyYAML)
    code = _LOADED + f"run(['rollout', 'status', {NAME!r}, *{where!r}], {NOT_FOR_STATUS!r})\n"
    out = subprocess.run(
        [sys.executable, "-c", code], check=False, capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr.strip().splitlines()[-1:] == ["[]"]


def _older_cache(repo: Path) -> None:
    """A cache written before it held the policy and each step's gates."""
    path = cache_path(repo)
    data = json.loads(path.read_text())
    del data["gates"], data["policy"]
    path.write_text(json.dumps(data))


def _damaged_policy(repo: Path) -> None:
    """The recorded policy no longer reads back to the recorded digest."""
    path = cache_path(repo)
    data = json.loads(path.read_text())
    data["policy"] = data["policy"].replace('"1h"', '"2h"', 1)
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "change",
    ["inventory bytes", "origin", "tool", "plan format", "older cache", "damaged policy"],
)
def test_a_step_after_a_digest_change_recomputes_and_writes_the_same_files(
    tmp_path: Path,
    change: str,
    monkeypatch: pytest.MonkeyPatch,
    no_recompute: list[int],
) -> None:
    repo = started(tmp_path, "flux")
    run = runner_for(repo.path)
    twin = tmp_path / "twin"
    shutil.copytree(repo.path, twin, symlinks=True)
    for path in (repo.path, twin):
        if change == "inventory bytes":
            inventory = path / "clusters.yaml"
            inventory.write_text("# reviewed\n" + inventory.read_text())
        elif change == "origin":
            git(path, "remote", "set-url", "origin", "https://git.example.com/other/fleet.git")
        elif change == "older cache":
            _older_cache(path)
        elif change == "damaged policy":
            _damaged_policy(path)
    if change == "tool":
        monkeypatch.setattr(plancache_files, "code_digest", lambda: "another-build")
    elif change == "plan format":
        monkeypatch.setattr(plancache, "PLAN_FORMAT", plancache.PLAN_FORMAT + 1)
    no_recompute.clear()
    run("advance", NAME, minute=5)
    assert no_recompute == [1]
    cache_path(twin).unlink()
    runner_for(twin)("advance", NAME, minute=5)
    shutil.copyfile(cache_path(repo.path), cache_path(twin))
    assert tree_bytes(repo.path) == tree_bytes(twin)


def test_the_cache_holds_the_plans_policy_and_gates(tmp_path: Path) -> None:
    repo = started(tmp_path, "argocd")  # (the policy: POLICY)
    loaded = plancache_files.read(repo.path, NAME)
    assert loaded is not None
    policy = plancache.policy_of(loaded)
    assert policy is not None and policy.digest() == loaded.policy_digest
    state = load_state((repo.path / "waves" / NAME / "rollout.yaml").read_bytes(), source="x")
    assert plancache.gate_specs(loaded) == [
        (s.name, s.wave, s.clusters, s.bake, s.approval) for s in state.steps
    ]


def test_a_new_origin_rewrites_the_manifests_with_it(tmp_path: Path) -> None:
    repo = started(tmp_path, "flux")
    run = runner_for(repo.path)
    git(repo.path, "remote", "set-url", "origin", "https://git.example.com/moved/fleet.git")
    run("advance", NAME, minute=5)
    sync = repo.path / "waves" / NAME / "flux" / "clusters" / "prod-ap-south-1" / "sync.yaml"
    assert "https://git.example.com/moved/fleet.git" in sync.read_text()


# -------------------------------------------------------------------------------- units


def test_file_digests_are_unambiguous() -> None:
    assert plancache.digest_files({"a": b"bc"}) != plancache.digest_files({"ab": b"c"})
    assert plancache.digest_files({"a": b"1", "b": b"2"}) == plancache.digest_files(
        {"b": b"2", "a": b"1"}
    )
    assert plancache.digest_bytes(None) == "built-in"


def test_the_cache_round_trips_and_rejects_damage(tmp_path: Path) -> None:
    data = cache_path(started(tmp_path, "flux").path).read_bytes()
    cache = plancache.load(data)
    assert cache is not None
    assert plancache.dump(cache) == data
    assert plancache.load(data[:-20]) is None
    assert plancache.load(b"{}") is None


@pytest.mark.parametrize("target", ["argocd", "flux"])
def test_step_files_are_exactly_what_a_full_render_changes(tmp_path: Path, target: str) -> None:
    fleet_repo = started(tmp_path, "flux")
    loaded = plancache.load(cache_path(fleet_repo.path).read_bytes())
    assert loaded is not None
    state_text = (fleet_repo.path / "waves" / NAME / "rollout.yaml").read_bytes()
    state = load_state(state_text, source="rollout.yaml")
    settings: ArgoCDSettings | FluxSettings = (
        FluxSettings() if target == "flux" else ArgoCDSettings(shard_size=2)
    )

    def render(released: set[str]) -> dict[str, bytes]:
        pinned = rolloutwrite.step_pinned(plancache.emitter_input(loaded, state, released))
        if isinstance(settings, FluxSettings):
            return flux.render(pinned, settings)
        return argocd.render(pinned, settings, argocd.Strategy.list)

    steps = list(STEPS)
    for count in range(len(steps)):
        before, after = set(steps[:count]), set(steps[: count + 1])
        old, new = render(before), render(after)
        pinned = rolloutwrite.step_pinned(plancache.emitter_input(loaded, state, after))
        part = stepfiles.step_files(pinned, settings, STEPS[steps[count]])
        assert set(old) == set(new) == stepfiles.all_paths(pinned, settings)
        assert {p for p in new if old[p] != new[p]} <= set(part)
        assert all(new[p] == data for p, data in part.items())


def test_the_code_digest_covers_every_source_file_outside_the_demo() -> None:
    package = Path(plancache.__file__).resolve().parent
    sources = {
        p.relative_to(package).as_posix(): p.read_bytes()
        for p in package.rglob("*.py")
        if "demo" not in p.relative_to(package).parts
    }
    assert plancache_files.code_digest.__wrapped__() == plancache.digest_files(sources)[:16]
