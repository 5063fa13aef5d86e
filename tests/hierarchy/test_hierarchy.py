"""The hierarchy graph: every reference kustomize follows, Flux/Argo CD following, ownership."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy, NodeKind
from planner.hierarchy.scopes import HierarchyConfig, Scope, ScopeRule, classify
from planner.snapshot import MemorySnapshot
from tests.testing.examples import examples

K = "kustomization.yaml"


def graph(files: dict[str, str], roots: list[str], repo_urls: tuple[str, ...] = ()) -> Hierarchy:
    snap = MemorySnapshot({p: t.encode() for p, t in files.items()}, "rev")
    return build_hierarchy(snap, roots, repo_urls=repo_urls)


def root(h: Hierarchy, path: str) -> str:
    found = h.root_of(path)
    assert found is not None
    return found


LAYOUT = {
    f"base/{K}": "resources: [ns.yaml]\n",
    "base/ns.yaml": "kind: Namespace\n",
    f"environments/production/{K}": "resources: [../../base]\n",
    f"regions/eu-west/{K}": "resources: [../../environments/production]\n",
    f"clusters/prod-eu-west-1/{K}": "resources: [../../regions/eu-west]\n",
    f"clusters/dev-1/{K}": "resources: [../../base]\n",
}


def test_reference_chain_from_cluster_to_changed_file() -> None:
    h = graph(LAYOUT, ["clusters/prod-eu-west-1", "clusters/dev-1"])
    hops = h.next_hops(h.owners("base/ns.yaml"))
    chain = h.chain(root(h, "clusters/prod-eu-west-1"), hops)
    assert [link.node.display for link in chain] == [
        f"clusters/prod-eu-west-1/{K}",
        f"regions/eu-west/{K}",
        f"environments/production/{K}",
        f"base/{K}",
        "base/ns.yaml",
    ]
    assert [link.node.scope for link in chain] == [
        Scope.CLUSTER,
        Scope.REGION,
        Scope.ENVIRONMENT,
        Scope.GLOBAL,
        Scope.GLOBAL,
    ]
    assert chain[1].edge is not None and chain[1].edge.field == "resources"


@pytest.mark.parametrize(
    ("kustomization", "extra", "changed"),
    [
        ("resources: [a.yaml]", {"a.yaml": "kind: A\n"}, "a.yaml"),
        ("bases: [../shared]", {f"../shared/{K}": "resources: []\n"}, f"../shared/{K}"),
        ("components: [../comp]", {f"../comp/{K}": "kind: Component\n"}, f"../comp/{K}"),
        ("patches: [{path: p.yaml}]", {"p.yaml": "kind: A\n"}, "p.yaml"),
        ("patchesStrategicMerge: [p.yaml]", {"p.yaml": "kind: A\n"}, "p.yaml"),
        ("patchesJson6902: [{path: p.yaml, target: {kind: A}}]", {"p.yaml": "[]\n"}, "p.yaml"),
        ("configMapGenerator: [{name: c, files: [k=f.txt]}]", {"f.txt": "x"}, "f.txt"),
        ("configMapGenerator: [{name: c, envs: [e.env]}]", {"e.env": "A=1"}, "e.env"),
        ("secretGenerator: [{name: c, env: e.env}]", {"e.env": "A=1"}, "e.env"),
        ("replacements: [{path: r.yaml}]", {"r.yaml": "[]\n"}, "r.yaml"),
        ("crds: [crd.yaml]", {"crd.yaml": "kind: CRD\n"}, "crd.yaml"),
        ("configurations: [c.yaml]", {"c.yaml": "{}\n"}, "c.yaml"),
        ("openapi: {path: schema.json}", {"schema.json": "{}"}, "schema.json"),
        ("transformers: [t.yaml]", {"t.yaml": "kind: T\n"}, "t.yaml"),
        ("generators: [g.yaml]", {"g.yaml": "kind: G\n"}, "g.yaml"),
        ("validators: [v.yaml]", {"v.yaml": "kind: V\n"}, "v.yaml"),
        (
            "helmCharts: [{name: c, valuesFile: values.yaml}]",
            {"values.yaml": "a: 1\n", "charts/c/Chart.yaml": "name: c\n"},
            "charts/c/templates/new.yaml",
        ),
    ],
)
def test_every_reference_field_owns_its_file(
    kustomization: str, extra: dict[str, str], changed: str
) -> None:
    files = {f"app/cluster/{K}": kustomization + "\n"}
    files.update({_join("app/cluster", p): t for p, t in extra.items()})
    h = graph(files, ["app/cluster"])
    start = root(h, "app/cluster")
    owners = h.owners(_join("app/cluster", changed))
    assert owners, f"nobody owns {changed}"
    assert owners <= h.closure(start)


def _join(directory: str, path: str) -> str:
    import posixpath

    return posixpath.normpath(f"{directory}/{path}")


def test_directory_reference_owns_every_kustomization_filename() -> None:
    h = graph({f"c/{K}": "resources: [../b]\n", f"b/{K}": "resources: []\n"}, ["c"])
    assert h.owners("b/kustomization.yml") == {"b/"}
    assert h.owners("b/Kustomization") == {"b/"}
    assert h.owners("b/unrelated.yaml") == set()


def test_remote_resources_are_external_and_never_fetched() -> None:
    h = graph({f"c/{K}": "resources: ['github.com/org/repo//deploy?ref=v1']\n"}, ["c"])
    externals = [n for n in h.nodes() if n.kind == NodeKind.EXTERNAL]
    assert [n.path for n in externals] == ["github.com/org/repo//deploy?ref=v1"]


def test_missing_escaping_and_absolute_references_are_problems() -> None:
    h = graph(
        {f"c/{K}": "resources: [gone.yaml, ../../../etc/passwd, /abs.yaml, ../dir]\n", "dir/x": ""},
        ["c"],
    )
    codes = sorted(p.code for p in h.problems)
    assert codes == ["absolute-path", "escapes-repo", "missing-reference", "not-a-kustomization"]


def test_broken_yaml_is_a_problem_and_keeps_the_node() -> None:
    h = graph({f"c/{K}": "resources: [\n"}, ["c"])
    assert [p.code for p in h.problems] == ["broken-yaml"]
    assert h.owners(f"c/{K}") == {"c/"}


def test_cycles_are_found() -> None:
    h = graph({f"a/{K}": "resources: [../b]\n", f"b/{K}": "resources: [../a]\n"}, ["a"])
    assert h.cycles() == [["a/", "b/"]]


FLUX = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec:
  path: {path}
  sourceRef: {{kind: GitRepository, name: {source}}}
"""


def test_flux_kustomizations_are_followed_into_generated_folders() -> None:
    h = graph(
        {
            "clusters/prod/apps.yaml": FLUX.format(path="./apps/production", source="flux-system"),
            "apps/production/deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\n",
            "apps/production/values.yaml": "replicas: 2\n",
            f"apps/production/sub/{K}": "resources: []\n",
        },
        ["clusters/prod"],
    )
    top = root(h, "clusters/prod")
    assert h.node(top).kind == NodeKind.GENERATED
    assert h.owners("apps/production/deploy.yaml") <= h.closure(top)
    assert h.owners("apps/production/deploy.yaml")
    assert h.owners("apps/production/values.yaml") == set(), "not a manifest: not generated"
    assert h.owners("apps/production/kustomization.yaml"), "a new kustomization changes the build"
    assert "apps/production/sub/" in h.closure(top)


def test_flux_source_of_another_repository_is_not_followed() -> None:
    other = """apiVersion: source.toolkit.fluxcd.io/v1
kind: GitRepository
metadata: {name: podinfo, namespace: flux-system}
spec: {url: https://github.com/stefanprodan/podinfo}
"""
    h = graph(
        {
            "clusters/prod/source.yaml": other,
            "clusters/prod/apps.yaml": FLUX.format(path="./kustomize", source="podinfo"),
            "kustomize/x.yaml": "kind: X\n",
        },
        ["clusters/prod"],
        repo_urls=("https://github.com/example/fleet",),
    )
    assert h.owners("kustomize/x.yaml") == set()


def test_unknown_flux_source_is_followed_when_the_path_exists() -> None:
    h = graph(
        {
            "clusters/prod/apps.yaml": FLUX.format(path="./apps", source="mystery"),
            "apps/x.yaml": "apiVersion: v1\nkind: X\n",
        },
        ["clusters/prod"],
    )
    assert h.owners("apps/x.yaml")


def test_argocd_application_paths_are_followed() -> None:
    app = """apiVersion: argoproj.io/v1alpha1
kind: Application
metadata: {name: guestbook, namespace: argocd}
spec:
  source: {repoURL: 'https://github.com/example/fleet.git', path: apps/guestbook}
  destination: {server: 'https://kubernetes.default.svc'}
"""
    h = graph(
        {"clusters/prod/app.yaml": app, "apps/guestbook/deploy.yaml": "kind: Deployment\n"},
        ["clusters/prod"],
        repo_urls=("git@github.com:example/fleet.git",),
    )
    assert h.owners("apps/guestbook/deploy.yaml") <= h.closure(root(h, "clusters/prod"))
    assert h.owners("apps/guestbook/deploy.yaml")


def test_patch_retargeting_a_flux_path_is_followed() -> None:
    patch = "- op: replace\n  path: /spec/path\n  value: ./apps/production\n"
    h = graph(
        {
            f"clusters/prod/{K}": "resources: [apps.yaml]\npatches: [{path: p.yaml, target: {kind: Kustomization}}]\n",
            "clusters/prod/apps.yaml": FLUX.format(path="./apps/base", source="flux-system"),
            "clusters/prod/p.yaml": patch,
            "apps/base/a.yaml": "apiVersion: v1\nkind: A\n",
            "apps/production/a.yaml": "apiVersion: v1\nkind: A\n",
        },
        ["clusters/prod"],
    )
    assert h.owners("apps/production/a.yaml")


@pytest.mark.parametrize(
    ("path", "scope", "layer"),
    [
        ("base/x.yaml", Scope.GLOBAL, "base"),
        (
            "environments/production/kustomization.yaml",
            Scope.ENVIRONMENT,
            "environments/production",
        ),
        ("regions/eu-west", Scope.REGION, "regions/eu-west"),
        ("clusters/a/b/c.yaml", Scope.CLUSTER, "clusters/a"),
        ("apps/podinfo/x.yaml", Scope.SHARED, None),
    ],
)
def test_default_scopes(path: str, scope: Scope, layer: str | None) -> None:
    rules = HierarchyConfig().scopes
    assert classify(path, rules) == (scope, layer)


def test_custom_scope_rule_longest_match_wins() -> None:
    rules = (
        ScopeRule(pattern="overlays/*", scope=Scope.ENVIRONMENT),
        ScopeRule(pattern="overlays/*/regions/*", scope=Scope.REGION),
    )
    assert classify("overlays/prod/regions/eu/k.yaml", rules) == (
        Scope.REGION,
        "overlays/prod/regions/eu",
    )


@settings(max_examples=examples(60))
@given(st.integers(min_value=1, max_value=6), st.data())
def test_closure_contains_owner_of_every_file_it_references(
    depth: int, data: st.DataObject
) -> None:
    """In a random chain of layers, each cluster owns (transitively) every layer below it."""
    files = {}
    for level in range(depth):
        below = (
            f"resources: [../l{level + 1}]\n" if level + 1 < depth else "resources: [leaf.yaml]\n"
        )
        files[f"l{level}/{K}"] = below
    files[f"l{depth - 1}/leaf.yaml"] = "kind: A\n"
    start = data.draw(st.integers(min_value=0, max_value=depth - 1))
    h = graph(files, [f"l{start}"])
    top = root(h, f"l{start}")
    assert h.owners(f"l{depth - 1}/leaf.yaml") <= h.closure(top)
    for level in range(start, depth):
        assert h.owners(f"l{level}/{K}") <= h.closure(top)
    for level in range(start):
        assert not h.owners(f"l{level}/{K}")


def test_cluster_path_that_is_one_manifest_file_is_followed() -> None:
    h = graph(
        {
            "clusters/prod.yaml": FLUX.format(path="./apps", source="flux-system"),
            "apps/a.yaml": "apiVersion: v1\nkind: ConfigMap\n",
        },
        ["clusters/prod.yaml"],
    )
    assert h.owners("apps/a.yaml") <= h.closure(root(h, "clusters/prod.yaml"))
    assert h.owners("apps/a.yaml")


def test_flux_objects_inside_a_list_are_followed() -> None:
    flux = FLUX.format(path="./apps", source="flux-system")
    items = "".join("  " + line + "\n" for line in ("- " + flux.replace("\n", "\n  ")).splitlines())
    h = graph(
        {
            f"clusters/prod/{K}": "resources: [list.yaml]\n",
            "clusters/prod/list.yaml": "apiVersion: v1\nkind: List\nitems:\n" + items,
            "apps/a.yaml": "apiVersion: v1\nkind: ConfigMap\n",
        },
        ["clusters/prod"],
    )
    assert h.owners("apps/a.yaml")
