"""Quiet, correct plans: what the plan says about its range, and the warnings it leaves out.

- a reversed range (head an ancestor of base) is said plainly;
- an inventory file added at head is "inventory added", not every cluster added;
- the tool's own waves/** files never count as files that reach no cluster;
- the summary's scope is `global` only when a global layer changed;
- canary-coverage is not raised for a cluster's own folder;
- the built-in policy does not warn about its own empty waves;
- a changed file is listed under one layer.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner

from planner import api
from planner.cli import app
from planner.hierarchy.scopes import Scope
from planner.impact import _LayerHit, _one_layer_per_file
from tests.testing.fleetrepo import FleetRepo

runner = CliRunner()


def _git(repo: Path, *args: str) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
        "PATH": "/usr/bin:/bin:/usr/local/bin",
        "HOME": str(repo),
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *args], env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_reversed_range_is_said_plainly(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("region-change")
    swapped = ["plan", "--repo", str(built.path), "--base", built.head, "--head", built.base]
    result = runner.invoke(app, swapped)  # three dots: nothing from base to head
    assert result.exit_code == 2
    assert "--base and --head are reversed" in result.stderr
    assert f"swap them: --base {built.base} --head {built.head}" in result.stderr
    plan = api.plan(
        api.PlanRequest(repo=built.path, base=built.head, head=built.base, two_dot=True)
    )
    (note,) = [w for w in plan.warnings if w.code == "reversed-range"]
    assert "is an ancestor of --base" in note.message
    assert note.fix == "swap --base and --head to plan the change forwards"
    out = runner.invoke(app, [*swapped, "--two-dot"]).stdout
    assert out.splitlines()[3].startswith("note: --head")  # before the plan, not only after
    forwards = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    assert "reversed-range" not in {w.code for w in forwards.warnings}


def test_an_inventory_added_at_head_is_not_every_cluster_added(
    fleet: Callable[[str], FleetRepo],
) -> None:
    built = fleet("cluster-change")
    repo = built.path
    _git(repo, "checkout", "-q", built.base)
    _git(repo, "checkout", "-q", "-b", "without-inventory")
    _git(repo, "rm", "-q", "clusters.yaml")
    _git(repo, "commit", "-q", "-m", "no inventory yet")
    base = _git(repo, "rev-parse", "HEAD")
    _git(repo, "checkout", "-q", built.head, "--", ".")
    _git(repo, "commit", "-q", "-m", "inventory and the change")
    head = _git(repo, "rev-parse", "HEAD")
    plan = api.plan(api.PlanRequest(repo=repo, base=base, head=head))
    assert plan.affected_names() == ["prod-eu-west-1"]  # the change, not the new inventory
    (note,) = [w for w in plan.warnings if w.code == "inventory-added"]
    assert note.message.startswith("inventory added: clusters.yaml does not exist at base")


def test_the_tools_own_files_reach_no_cluster_silently(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("cluster-change")
    changed = "clusters/prod-eu-west-1/kustomization.yaml\nwaves/argocd/canary.yaml\n"
    plan = api.plan(
        api.PlanRequest(repo=built.path, base=built.head, head=built.head, changed_files=changed)
    )
    assert plan.unowned == ()
    assert "reaches-no-cluster" not in {w.code for w in plan.warnings}


def test_scope_is_global_only_for_a_global_layer(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("fleet-bundles-init")
    changed = "apps/podinfo/deployment.yaml\n"
    plan = api.plan(
        api.PlanRequest(repo=built.path, base=built.head, head=built.head, changed_files=changed)
    )
    assert len(plan.affected) == plan.summary.clusters_total == 2
    assert plan.summary.scope == "shared"
    base = fleet("base-change")
    assert api.plan(
        api.PlanRequest(repo=base.path, base=base.base, head=base.head)
    ).summary.scope == ("global")


def test_no_canary_warning_for_a_clusters_own_folder(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("cluster-change")
    plan = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    assert plan.affected_names() == ["prod-eu-west-1"]
    assert "canary-coverage" not in {w.code for w in plan.warnings}


def test_the_built_in_policy_does_not_warn_about_its_own_waves(
    fleet: Callable[[str], FleetRepo], tmp_path: Path
) -> None:
    built = fleet("realistic-argo-apps")  # no cluster carries a canary label
    result = api.validate(api.ValidateRequest(repo=built.path))
    assert "empty-wave" not in {f.code for f in result.findings}
    written = tmp_path / "rollout.yaml"
    written.write_text(
        "waves:\n- name: canary\n  selector: {matchLabels: {rollout.wave: canary}}\n"
        "- name: rest\n  selector: {}\n"
    )
    result = api.validate(api.ValidateRequest(repo=built.path, policy=written))
    assert "empty-wave" in {f.code for f in result.findings}  # a policy someone wrote


def test_a_changed_file_is_listed_under_one_layer() -> None:
    layers = {
        "apps": _LayerHit({"apps/web/a.yaml", "apps/x.yaml"}, set(), set(), Scope.SHARED),
        "apps/web": _LayerHit({"apps/web/a.yaml"}, set(), set(), Scope.SHARED),
        "base": _LayerHit({"apps/web/a.yaml"}, set(), set(), Scope.GLOBAL),
    }
    reached = {"apps": {"a", "b"}, "apps/web": {"a"}, "base": {"c"}}
    listed = _one_layer_per_file(layers, reached)
    assert [(layer.path, layer.files, layer.clusters) for layer in listed] == [
        ("apps", ("apps/x.yaml",), 2),
        ("apps/web", ("apps/web/a.yaml",), 2),  # base listed nothing of its own: folded in
    ]


def test_an_absolute_policy_path_inside_the_repo_is_named_relative(
    fleet: Callable[[str], FleetRepo],
) -> None:
    built = fleet("envs-overlays")
    policy = built.path / "rollout.yaml"
    policy.write_text("waves:\n- name: all\n  selector: {}\n")
    plan = api.plan(
        api.PlanRequest(repo=built.path, base=built.base, head=built.head, policy=policy.resolve())
    )
    assert plan.policy.source == "rollout.yaml"
