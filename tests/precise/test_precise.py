"""Precise mode: the pure decisions (units, states, summaries) and, with kubectl, end to end."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner import api, precise
from planner.adapters import renderer as renderer_mod
from planner.adapters.renderer import KustomizeRenderer, RenderCache
from planner.analysis import analyse
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.cli import app
from planner.errors import UserError
from planner.hierarchy.build import build_hierarchy
from planner.inventory import parse_inventory
from planner.plan import Plan, PlanInputs, RenderSummary, assemble
from planner.policy import RenderSettings, default_policy
from planner.precise import RenderJob, RenderOutput, SourceIgnore, State, Unit
from planner.snapshot import MemorySnapshot
from tests.testing.fleetrepo import FleetRepo, _commit
from tests.testing.marks import requires_kubectl

# ------------------------------------------------------------------ pure: summaries


def _state(*docs: Mapping[str, object], tag: str = "clusters/a") -> State:
    objects = sorted((precise.identity(d), precise.canonical(tag, d)) for d in docs)
    return State(status="ok", objects=tuple(objects))


def _cm(name: str, data: str, namespace: str = "apps") -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "namespace": namespace},
        "data": {"k": data},
    }


def test_same_state_is_no_change() -> None:
    assert precise.compare(_state(_cm("a", "1")), _state(_cm("a", "1"))) is None


def test_objects_added_removed_changed() -> None:
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    summary = precise.compare(
        _state(_cm("a", "1"), _cm("gone", "x")), _state(_cm("a", "2"), _cm("new", "y"), ns)
    )
    assert summary == RenderSummary(
        added=("ConfigMap/apps/new", "Namespace/apps"),
        removed=("ConfigMap/apps/gone",),
        changed=("ConfigMap/apps/a",),
    )
    assert summary.describe() == (
        "+2 -1 ~1: +ConfigMap/apps/new, +Namespace/apps, -ConfigMap/apps/gone (+1 more)"
    )


def test_generated_name_suffix_reads_as_changed() -> None:
    summary = precise.compare(
        _state(_cm("settings-hc2h94f526", "1")), _state(_cm("settings-bt9hm5fk67", "2"))
    )
    assert summary is not None
    assert summary.changed == ("ConfigMap/apps/settings-*",)
    assert not summary.added
    assert not summary.removed


def test_failure_at_either_side_is_reported() -> None:
    failed = State(status="error", error="boom")
    summary = precise.compare(_state(_cm("a", "1")), failed)
    assert summary is not None
    assert summary.failed == "at head: boom"
    assert summary.describe() == "render failed: at head: boom"


def test_absent_at_base_lists_everything_as_added() -> None:
    summary = precise.compare(State(status="absent"), _state(_cm("a", "1")))
    assert summary is not None
    assert summary.added == ("ConfigMap/apps/a",)


def test_long_lists_are_capped() -> None:
    many = [_cm(f"c{i:03}", "1") for i in range(precise.MAX_LISTED + 7)]
    summary = precise.compare(State(status="absent"), _state(*many))
    assert summary is not None
    assert len(summary.added) == precise.MAX_LISTED
    assert summary.omitted == 7


def test_the_source_of_an_object_is_part_of_the_state() -> None:
    """The same object pulled in by another folder is a change (as Flux would apply it)."""
    assert precise.compare(_state(_cm("a", "1"), tag="x"), _state(_cm("a", "1"), tag="y"))


@pytest.mark.parametrize(
    ("rules", "path", "is_dir", "ignored"),
    [
        ("", ".github", True, True),
        ("", "apps/.github", True, True),
        ("", "apps/deploy.yaml", False, False),
        ("*.yaml\n", "apps/deploy.yaml", False, True),
        ("*.yaml\n!keep.yaml\n", "apps/keep.yaml", False, False),
        ("/apps/\n", "apps", True, True),
        ("/apps/\n", "other/apps", True, False),
        ("tmp/\n", "tmp", False, False),
        # ** spans folders (and matches none), as in git and Flux
        ("**/secrets\n", "secrets", True, True),
        ("**/secrets\n", "apps/x/secrets", True, True),
        ("apps/**/test\n", "apps/test", True, True),
        ("apps/**/test\n", "apps/a/b/test", True, True),
        ("apps/**/test\n", "other/apps/a/test", True, False),
    ],
)
def test_source_ignore(rules: str, path: str, is_dir: bool, ignored: bool) -> None:
    assert SourceIgnore(rules).ignored(path, is_dir) is ignored


# -------------------------------------------------------------------- pure: units

_FLUX_FLEET = {
    "clusters/c1/sync.yaml": b"""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec:
  path: ./apps
  sourceRef: {kind: GitRepository, name: flux-system}
""",
    "clusters/c1/notes.yaml": b"just: a note\n",
    "apps/kustomization.yaml": b"resources: [deploy.yaml, https://example.com/remote.yaml]\n",
    "apps/deploy.yaml": b"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
}


def _units(files: dict[str, bytes], cluster: str = "clusters/c1") -> list[Unit]:
    snap = MemorySnapshot(files)
    graph = build_hierarchy(snap, [cluster])
    units = precise.UnitBuilder(graph, snap).cluster(cluster)
    assert units is not None
    return units


def test_units_follow_flux_kustomizations() -> None:
    root, apps = _units(_FLUX_FLEET)
    assert (root.kind, root.path) == ("generated", "clusters/c1")
    assert root.generated is not None
    assert "- sync.yaml" in root.generated
    assert "notes.yaml" not in root.generated  # not a Kubernetes object: skipped, like Flux
    assert (apps.kind, apps.path) == ("kustomize", "apps")
    assert [p for p, _ in apps.files] == ["apps/deploy.yaml", "apps/kustomization.yaml"]
    assert apps.remote == ("https://example.com/remote.yaml",)
    assert not apps.needs_renderer  # remote: fails fast, never fetched


def test_unit_keys_are_content_addresses() -> None:
    same = _units(_FLUX_FLEET)
    edited = _units({**_FLUX_FLEET, "apps/deploy.yaml": b"kind: ConfigMap # edited\n"})
    assert same[0].key == edited[0].key  # the root reads none of the edited files
    assert same[1].key != edited[1].key


def test_missing_cluster_folder_is_absent() -> None:
    units = _units({"other/kustomization.yaml": b"resources: []\n"}, cluster="clusters/gone")
    assert precise.cluster_state(units, {}, MemorySnapshot({})).status == "absent"


def test_helm_chart_folders_are_hashed_not_rendered() -> None:
    files = {
        "clusters/c1/app.yaml": b"""\
apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: chart}
spec:
  source: {repoURL: https://example.com/fleet.git, path: charts/web, helm: {}}
""",
        "charts/web/Chart.yaml": b"name: web\n",
        "charts/web/templates/d.yaml": b"kind: Deployment\n",
    }
    units = _units(files)
    chart = next(u for u in units if u.path == "charts/web")
    assert chart.kind == "files"
    assert [p for p, _ in chart.files] == ["charts/web/Chart.yaml", "charts/web/templates/d.yaml"]


# ------------------------------------------------------------------ pure: refine


class _FakeRenderer:
    """Renders a unit as the bytes of its files (a stand-in for kustomize)."""

    def __init__(self, fail: str | None = None) -> None:
        self.fail = fail
        self.jobs: list[RenderJob] = []

    def render(self, jobs: Sequence[RenderJob]) -> dict[str, RenderOutput]:
        self.jobs.extend(jobs)
        out = {}
        for job in jobs:
            if self.fail and job.unit.path == self.fail:
                out[job.unit.key] = RenderOutput(error="kustomize said no")
                continue
            data = job.snapshot.read_many(p for p, _ in job.unit.files)
            docs = [
                f"apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {p.replace('/', '.')}}}\n"
                f"data: {{sha: {sha}}}\n"
                for p, sha in job.unit.files
                if b"#cosmetic" not in data.get(p, b"")
            ]
            out[job.unit.key] = RenderOutput(text="---\n".join(docs))
        return out


_INVENTORY = b"""\
clusters:
  - {name: a, labels: {environment: production}}
  - {name: b, labels: {environment: production}}
"""


def _inputs(base: dict[str, bytes], head: dict[str, bytes], changed: list[str]) -> PlanInputs:
    inventory = parse_inventory({"clusters.yaml": _INVENTORY}, source="clusters.yaml")
    return PlanInputs(
        head=MemorySnapshot(head, revision="h" * 40),
        base=MemorySnapshot(base, revision="b" * 40),
        changes=ChangeSet(
            changes=tuple(Change(path=p, status=ChangeStatus.MODIFIED) for p in changed)
        ),
        inventory=inventory,
        base_inventory=inventory,
        policy=default_policy(inventory),
    )


_LAYERED = {
    "clusters/a/kustomization.yaml": b"resources: [../../shared]\n",
    "clusters/b/kustomization.yaml": b"resources: [../../shared, extra.yaml]\n",
    "clusters/b/extra.yaml": b"kind: ConfigMap\n",
    "shared/kustomization.yaml": b"resources: [cm.yaml]\n",
    "shared/cm.yaml": b"kind: ConfigMap\n",
}


def test_refine_keeps_changed_and_moves_unchanged() -> None:
    head = {**_LAYERED, "clusters/b/extra.yaml": b"kind: ConfigMap #cosmetic\n"}
    head["shared/cm.yaml"] = b"kind: ConfigMap\ndata: {}\n"
    inputs = _inputs(_LAYERED, head, ["shared/cm.yaml", "clusters/b/extra.yaml"])
    traced = analyse(inputs)
    assert sorted(traced.impact.affected) == ["a", "b"]
    fake = _FakeRenderer()
    result = precise.refine(inputs, traced, fake)
    assert sorted(result.affected) == ["a", "b"]  # both read the changed shared file
    assert result.renders["a"].changed == ("ConfigMap/shared.cm.yaml",)
    assert result.rendered_units == 4


def test_refine_failure_stays_affected_with_a_warning() -> None:
    head = {**_LAYERED, "shared/cm.yaml": b"kind: ConfigMap\ndata: {}\n"}
    inputs = _inputs(_LAYERED, head, ["shared/cm.yaml"])
    traced = analyse(inputs)
    result = precise.refine(inputs, traced, _FakeRenderer(fail="clusters/a"))
    assert "a" in result.affected
    assert result.renders["a"].failed is not None
    assert [f.code for f in result.findings] == ["render-failed"]
    plan = assemble(
        inputs,
        precise.pruned(traced, result, inputs.inventory.names()),
        result.traced_unchanged,
        renders=result.renders,
        findings=result.findings,
    )
    assert [w.code for w in plan.warnings if w.cluster == "a"] == ["render-failed"]


def test_unchanged_render_moves_to_unaffected_and_traced_unchanged() -> None:
    class Same(_FakeRenderer):
        def render(self, jobs: Sequence[RenderJob]) -> dict[str, RenderOutput]:
            return {j.unit.key: RenderOutput(text="kind: Same\n") for j in jobs}

    head = {**_LAYERED, "shared/cm.yaml": b"kind: ConfigMap # a comment\n"}
    inputs = _inputs(_LAYERED, head, ["shared/cm.yaml"])
    traced = analyse(inputs)
    result = precise.refine(inputs, traced, Same())
    plan = assemble(
        inputs,
        precise.pruned(traced, result, inputs.inventory.names()),
        result.traced_unchanged,
        renders=result.renders,
    )
    assert plan.affected == ()
    assert plan.traced_unchanged == ("a", "b")
    assert plan.unaffected == ("a", "b")
    assert plan.summary.scope == "none"
    assert plan.waves == ()


# ------------------------------------------------------------- end to end (kubectl)


def _precise(built: FleetRepo, cache: Path | None = None) -> Plan:
    """The precise plan; `cache` is a render cache folder (the run's, tests/conftest.py:
    a hit is exactly the output kubectl gave for the same bytes), None renders every unit."""
    settings = default_policy().render
    chosen = KustomizeRenderer(settings, cache=RenderCache(cache))
    return api.plan(
        api.PlanRequest(
            repo=built.path, base=built.base, head=built.head, precise=True, renderer=chosen
        )
    )


@requires_kubectl
def test_rename_renders_identical(fleet: Callable[[str], FleetRepo], render_cache: Path) -> None:
    plan = _precise(fleet("rename"), render_cache)
    assert plan.affected == ()
    assert plan.traced_unchanged == ("staging-eu-west-1", "staging-us-east-1")
    assert set(plan.traced_unchanged) <= set(plan.unaffected)
    assert plan.summary.clusters_affected == 0


@requires_kubectl
def test_remote_base_fails_both_sides_and_stays_affected(
    fleet: Callable[[str], FleetRepo], render_cache: Path
) -> None:
    plan = _precise(fleet("remote-base"), render_cache)
    assert plan.affected_names() == ["prod-eu-west-1", "prod-eu-west-2"]
    for entry in plan.affected:
        assert entry.render is not None
        assert entry.render.failed is not None
        assert "remote resource" in entry.render.failed
    warned = sorted(w.cluster or "" for w in plan.warnings if w.code == "render-failed")
    assert warned == ["prod-eu-west-1", "prod-eu-west-2"]


@requires_kubectl
@pytest.mark.parametrize("name", ["flux-fleet", "argocd-app-of-apps"])
def test_following_gitops_objects(
    name: str, fleet: Callable[[str], FleetRepo], render_cache: Path
) -> None:
    plan = _precise(fleet(name), render_cache)
    assert plan.affected_names() == ["prod-eu-west-1", "prod-us-east-1"]
    assert plan.traced_unchanged == ()
    for entry in plan.affected:
        assert entry.render is not None
        assert entry.render.changed
        assert entry.render.failed is None


@requires_kubectl
def test_cosmetic_change_is_traced_unchanged(
    fleet: Callable[[str], FleetRepo], render_cache: Path
) -> None:
    built = fleet("base-change")
    target = built.path / "base" / "kustomization.yaml"
    target.write_text("# the layers every cluster inherits\n" + target.read_text())
    head = _commit(built.path, "Comment the base", "2024-01-03T00:00:00+00:00")
    plan = _precise(FleetRepo(built.path, built.head, head), render_cache)
    assert plan.affected == ()
    assert len(plan.traced_unchanged) == plan.summary.clusters_total == 5


@requires_kubectl
def test_warm_run_reads_the_cache(
    fleet: Callable[[str], FleetRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fleet("region-change")
    cache = tmp_path / "cache"
    cold = _precise(built, cache)
    assert any(cache.rglob("*.json"))

    def refuse(*args: object, **kwargs: object) -> object:
        raise AssertionError("a warm run must not start the renderer")

    monkeypatch.setattr(KustomizeRenderer, "_run", refuse)
    warm = _precise(built, cache)
    assert warm == cold


@requires_kubectl
def test_cli_precise_table(fleet: Callable[[str], FleetRepo], render_cache: Path) -> None:
    built = fleet("generator-file")
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--precise",
            "--repo",
            str(built.path),
            "--base",
            built.base,
            "--head",
            built.head,
        ],
        env={"WAVE_PLANNER_CACHE": str(render_cache)},
    )
    assert result.exit_code == 0, result.output
    assert "rendered change" in result.output
    assert "~ConfigMap/kube-system/regional-settings-*" in result.output


def test_no_renderer_exits_2(
    fleet: Callable[[str], FleetRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fleet("region-change")
    git = shutil.which("git")
    assert git is not None
    only_git = tmp_path / "bin"
    only_git.mkdir()
    os.symlink(git, only_git / "git")
    monkeypatch.setenv("PATH", str(only_git))
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--precise",
            "--repo",
            str(built.path),
            "--base",
            built.base,
            "--head",
            built.head,
        ],
    )
    assert result.exit_code == 2
    assert "neither kubectl nor kustomize" in result.output
    assert "install kubectl" in result.output


def test_configured_renderer_may_not_enable_plugins() -> None:
    settings = RenderSettings(command=("kustomize", "build", "--enable-helm"))
    with pytest.raises(UserError, match="never runs plugins"):
        renderer_mod.find_command(settings, which=lambda name: f"/bin/{name}")
