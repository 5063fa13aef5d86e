"""Never silent: every object that can pull content in is followed, external or reported."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner import api
from planner.wiring.notes import OTHER_REVISION, UNMODELLED
from planner.wiring.objects import literal_prefix
from planner.wiring.scanner import scan_documents
from tests.testing.fleetrepo import FleetRepo
from tests.testing.wirekit import graph_of, inventory_text, plan_files

FLUX_KS = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: {name}, namespace: flux-system}}
spec:
  path: {path}
  sourceRef: {{kind: {kind}, name: {source}}}
"""


def _ks(
    path: str, kind: str = "GitRepository", source: str = "flux-system", name: str = "apps"
) -> str:
    return FLUX_KS.format(name=name, path=path, kind=kind, source=source)


@pytest.mark.parametrize(
    ("doc", "reason"),
    [
        (
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "a"},
                "spec": {"path": "./apps/${CLUSTER}", "sourceRef": {"kind": "GitRepository"}},
            },
            "templated path",
        ),
        (
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "a"},
                "spec": {"path": "./", "sourceRef": {"kind": "OCIRepository", "name": "o"}},
            },
            "OCIRepository",
        ),
        (
            {
                "apiVersion": "helm.toolkit.fluxcd.io/v2",
                "kind": "HelmRelease",
                "metadata": {"name": "a"},
                "spec": {"chart": {"spec": {"chart": "c", "sourceRef": {"kind": "Bucket"}}}},
            },
            "chart source Bucket",
        ),
        (
            {
                "apiVersion": "example.io/v1",
                "kind": "Deployer",
                "metadata": {"name": "a"},
                "spec": {"sourceRef": {"kind": "GitRepository", "name": "x"}},
            },
            "spec.sourceRef",
        ),
        (
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "metadata": {"name": "a"},
                "spec": {"source": {"repoURL": "u", "path": "apps/{{name}}"}},
            },
            "templated path",
        ),
    ],
)
def test_objects_that_cannot_be_traced_are_unmodelled(doc: object, reason: str) -> None:
    scan = scan_documents([doc])
    assert not scan.follows
    assert [u.code for u in scan.unmodelled] == [UNMODELLED]
    assert reason in scan.unmodelled[0].reason


def test_objects_that_pull_nothing_are_not_reported() -> None:
    docs = [
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "b"}},
        {
            "apiVersion": "image.toolkit.fluxcd.io/v1beta2",
            "kind": "ImageUpdateAutomation",
            "spec": {"sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
        },
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "podinfo"},
            "spec": {
                "chart": {"spec": {"chart": "podinfo", "sourceRef": {"kind": "HelmRepository"}}}
            },
        },
    ]
    docs.append(
        {
            "apiVersion": "helm.toolkit.fluxcd.io/v2",
            "kind": "HelmRelease",
            "metadata": {"name": "oci"},
            "spec": {"chartRef": {"kind": "OCIRepository", "name": "podinfo"}},
        }
    )
    scan = scan_documents(docs)
    assert not scan.unmodelled and not scan.follows


@pytest.mark.parametrize(
    ("value", "prefix"),
    [("./apps/${CLUSTER}", "apps"), ("apps/{{name}}/x", "apps"), ("${X}", "."), ("./$A", ".")],
)
def test_literal_prefix_of_a_templated_path(value: str, prefix: str) -> None:
    assert literal_prefix(value) == prefix


def test_a_patch_without_path_is_not_a_kustomization_of_the_root() -> None:
    patch = {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": "apps"},
        "spec": {"interval": "5m", "sourceRef": {"kind": "GitRepository", "name": "flux-system"}},
    }
    assert scan_documents([patch]).follows, "as an object it reads the source's root"
    assert not scan_documents([patch], patch=True).follows, "as a patch it changes nothing"
    retarget = {"kind": "Kustomization", "metadata": {"name": "apps"}, "spec": {"path": "./x"}}
    assert [f.path for f in scan_documents([retarget], patch=True).follows] == ["./x"]


def test_patch_file_listed_under_patches_is_not_followed_as_an_object() -> None:
    files = {
        "clusters/prod/kustomization.yaml": (
            "resources: [apps.yaml]\npatches:\n- path: apps-patch.yaml\n"
        ),
        "clusters/prod/apps.yaml": _ks("./apps/prod"),
        "clusters/prod/apps-patch.yaml": (
            "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\n"
            "metadata: {name: apps, namespace: flux-system}\n"
            "spec:\n  interval: 1m\n  sourceRef: {kind: GitRepository, name: flux-system}\n"
        ),
        "apps/prod/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "other/b.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
    }
    h = graph_of(files, ["clusters/prod"])
    assert h.owners("apps/prod/a.yaml")
    assert not h.owners("other/b.yaml"), "the patch does not pull in the repository root"
    assert h.cycles() == []


def test_flux_bootstrap_sync_of_its_own_folder_is_not_a_cycle() -> None:
    sync = (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: flux-system, namespace: flux-system}\n"
        "spec: {url: 'ssh://git@github.com/example/fleet', ref: {branch: main}}\n---\n"
        + _ks("./clusters/prod", name="flux-system")
    )
    files = {
        "clusters/prod/flux-system/gotk-sync.yaml": sync,
        "clusters/prod/flux-system/kustomization.yaml": "resources: [gotk-sync.yaml]\n",
        "clusters/prod/apps.yaml": _ks("./apps"),
        "apps/a.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    }
    h = graph_of(files, ["clusters/prod"])
    assert h.cycles() == []
    assert h.owners("apps/a.yaml")


def test_kustomize_cycles_are_still_found_next_to_flux_edges() -> None:
    files = {
        "a/kustomization.yaml": "resources: [../b, ks.yaml]\n",
        "a/ks.yaml": _ks("./a"),
        "b/kustomization.yaml": "resources: [../a]\n",
    }
    assert graph_of(files, ["a"]).cycles() == [["a/", "b/"]]


MULTI_TENANT = {
    "clusters/staging/flux-system/gotk-sync.yaml": (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: flux-system, namespace: flux-system}\n"
        "spec: {url: 'https://github.com/example/tenancy', ref: {branch: main}}\n---\n"
        + _ks("./clusters/staging", name="flux-system")
    ),
    "clusters/staging/tenants.yaml": _ks("./tenants/staging", name="tenants"),
    "tenants/staging/kustomization.yaml": "resources: [dev-team.yaml]\n",
    "tenants/staging/dev-team.yaml": (
        "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
        "metadata: {name: dev-team, namespace: apps}\n"
        "spec: {url: 'https://github.com/example/tenancy.git', ref: {branch: dev-team}}\n---\n"
        + _ks("./clusters/production", source="dev-team", name="dev-team").replace(
            "flux-system}", "apps}"
        )
    ),
    "clusters/production/kustomization.yaml": "resources: [x.yaml]\n",
    "clusters/production/x.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
}


def test_same_url_on_another_branch_is_another_revision() -> None:
    h = graph_of(MULTI_TENANT, ["clusters/staging"])
    assert not h.owners("clusters/production/x.yaml"), "staging does not read production"
    assert h.cycles() == []
    assert [(n.code, n.tag) for n in h.wiring] == [(OTHER_REVISION, "Kustomization apps/dev-team")]
    assert "branch=dev-team" in h.wiring[0].reason


def test_same_url_on_the_bootstrap_branch_is_this_change() -> None:
    files = dict(MULTI_TENANT)
    files["tenants/staging/dev-team.yaml"] = files["tenants/staging/dev-team.yaml"].replace(
        "branch: dev-team", "branch: main"
    )
    h = graph_of(files, ["clusters/staging"])
    assert h.owners("clusters/production/x.yaml") & h.closure(h.roots["clusters/staging"])
    assert h.wiring == []


# ---- the plan: unmodelled objects make "0 affected" loud and sound ----------------------

UNMODELLED_FLEET = {
    "clusters.yaml": inventory_text({"prod-a": "clusters/prod-a", "prod-b": "clusters/prod-b"}),
    "clusters/prod-a/kustomization.yaml": "resources: [apps.yaml]\n",
    "clusters/prod-a/apps.yaml": _ks("./apps/${CLUSTER_NAME}"),
    "clusters/prod-b/kustomization.yaml": "resources: [cm.yaml]\n",
    "clusters/prod-b/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
    "apps/prod-a/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
    "tools/oci.yaml": "x: 1\n",
}


def test_a_change_no_cluster_reaches_affects_clusters_with_unmodelled_wiring() -> None:
    head = dict(UNMODELLED_FLEET, **{"apps/prod-a/cm.yaml": "kind: ConfigMap\n# edited\n"})
    plan = plan_files(UNMODELLED_FLEET, head)
    assert plan.affected_names() == ["prod-a"]
    (reason,) = plan.affected[0].reasons
    assert reason.kind == "unmodelled"
    codes = [w.code for w in plan.warnings]
    assert UNMODELLED in codes
    warning = next(w for w in plan.warnings if w.code == UNMODELLED)
    assert warning.file == "clusters/prod-a/apps.yaml"
    assert "Kustomization flux-system/apps" in warning.message
    assert "templated path" in warning.message
    assert not plan.violations


def test_an_unrelated_change_outside_the_known_prefix_still_affects_when_unowned() -> None:
    head = dict(UNMODELLED_FLEET, **{"tools/oci.yaml": "x: 2\n"})
    plan = plan_files(UNMODELLED_FLEET, head)
    assert plan.affected_names() == ["prod-a"], "sound: it may be what the object reads"


def test_strict_makes_unmodelled_wiring_a_violation() -> None:
    head = dict(UNMODELLED_FLEET, **{"clusters/prod-b/cm.yaml": "kind: ConfigMap\n# b\n"})
    plan = plan_files(UNMODELLED_FLEET, head, strict=True)
    assert [v.code for v in plan.violations] == [UNMODELLED]
    assert plan.affected_names() == ["prod-b"], "owned change: only its reader"
    relaxed = plan_files(UNMODELLED_FLEET, head)
    assert not relaxed.violations


# ---- the fixture fleets modelled on public Flux layouts ----------------------------------

FLUX_FLEETS = [
    "realistic-flux-helm",
    "flux-artifacts",
    "flux-artifacts-infra",
    "flux-multi-tenancy",
    "flux-vars-values",
]


@pytest.mark.parametrize("name", FLUX_FLEETS)
def test_flux_layouts_plan_without_false_violations(
    name: str, fleet: Callable[[str], FleetRepo]
) -> None:
    """flux bootstrap's own sync is not a reference cycle, and no other false violation."""
    built = fleet(name)
    plan = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    assert plan.violations == ()
    assert not [w for w in plan.warnings if w.code == UNMODELLED]


def test_multi_tenancy_names_the_other_revision(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("flux-multi-tenancy")
    plan = api.plan(api.PlanRequest(repo=built.path, base=built.base, head=built.head))
    (other,) = [w for w in plan.warnings if w.code == OTHER_REVISION]
    assert other.file == "tenants/base/dev-team/sync.yaml"
    assert "branch=dev-team" in other.message
    assert "staging/release.yaml" in plan.unowned


@pytest.mark.parametrize(
    ("ref", "text"),
    [
        ({"branch": "main"}, "branch=main"),
        ({"name": "refs/heads/main"}, "branch=main"),
        ({"name": "refs/tags/v1"}, "tag=v1"),
        ({"branch": "main", "commit": "abc"}, "branch=main,commit=abc"),
        (None, ""),
    ],
)
def test_git_refs_compare_by_meaning(ref: object, text: str) -> None:
    from planner.wiring.scanner import ref_text

    assert ref_text(ref) == text


def test_a_root_templated_path_does_not_claim_every_change() -> None:
    fleet = dict(UNMODELLED_FLEET)
    fleet["clusters/prod-a/apps.yaml"] = _ks("${APP_PATH}")
    head = dict(fleet, **{"clusters/prod-b/cm.yaml": "kind: ConfigMap\n# b\n"})
    assert plan_files(fleet, head).affected_names() == ["prod-b"]


def test_a_path_inside_an_included_repository_is_external_not_missing() -> None:
    files = {
        "clusters/prod/flux-system/gotk-sync.yaml": (
            "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\n"
            "metadata: {name: flux-system, namespace: flux-system}\n"
            "spec:\n  url: https://github.com/example/fleet\n  include:\n"
            "  - repository: {name: shared}\n    toPath: vendor/shared\n"
        ),
        "clusters/prod/apps.yaml": _ks("./vendor/shared/apps"),
    }
    h = graph_of(files, ["clusters/prod"])
    assert h.problems == []
    assert any(n.startswith("remote:") for n in h.graph.nodes)
