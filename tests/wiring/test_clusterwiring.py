"""Per-cluster roots: hub-and-spoke ApplicationSets, holders, and what is not content."""

from __future__ import annotations

from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import NodeKind
from planner.snapshot import MemorySnapshot
from planner.wiring.appset import ClusterInfo
from planner.wiring.percluster import changed_clusters, expanded_by
from tests.testing.wiringkit import plan_files

INVENTORY = b"""clusters:
- name: hub
  labels: {role: hub}
  server: https://hub.example.com
  path: argocd
- name: spoke-a
  labels: {role: spoke}
  server: https://a.example.com
- name: spoke-b
  labels: {role: spoke}
  server: https://b.example.com
"""

LIST_SET = b"""apiVersion: argoproj.io/v1alpha1
kind: ApplicationSet
metadata: {name: addons, namespace: argocd}
spec:
  generators:
  - list:
      elements:
      - {cluster: spoke-a, url: https://a.example.com}
      - {cluster: spoke-b, url: https://b.example.com}
  template:
    metadata: {name: 'addons-{{cluster}}'}
    spec:
      project: default
      source: {repoURL: https://github.com/example/hub.git, path: 'addons/{{cluster}}'}
      destination: {server: '{{url}}', namespace: addons}
"""

CM = b"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s\n"


def hub_files() -> dict[str, bytes]:
    return {
        "clusters.yaml": INVENTORY,
        "argocd/addons.yaml": LIST_SET,
        "addons/spoke-a/cm.yaml": CM % b"a",
        "addons/spoke-b/cm.yaml": CM % b"b",
        "clusters/spoke-a/kustomization.yaml": b"resources: [ns.yaml]\n",
        "clusters/spoke-a/ns.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n",
        "clusters/spoke-b/kustomization.yaml": b"resources: [ns.yaml]\n",
        "clusters/spoke-b/ns.yaml": b"apiVersion: v1\nkind: Namespace\nmetadata:\n  name: b\n",
    }


def test_hub_application_set_deploys_to_the_spoke_it_names() -> None:
    before = hub_files()
    after = {**before, "addons/spoke-b/cm.yaml": CM % b"b2"}
    plan = plan_files(before, after)
    assert plan.affected_names() == ["spoke-b"]
    chain = plan.affected[0].reasons[0].chain
    assert chain[0].path == "clusters/spoke-b/ (as spoke-b)"


def test_the_set_itself_reaches_its_holder_and_the_spokes_whose_application_changes() -> None:
    before = hub_files()
    after = {
        **before,
        "argocd/addons.yaml": LIST_SET.replace(
            b"      - {cluster: spoke-b, url: https://b.example.com}\n", b""
        ),
    }
    assert plan_files(before, after).affected_names() == ["hub", "spoke-b"]


def test_graph_roots_and_fingerprints() -> None:
    files = hub_files()
    clusters = [
        ClusterInfo("hub", {"role": "hub"}, "https://hub.example.com", "argocd"),
        ClusterInfo("spoke-a", {}, "https://a.example.com", "clusters/spoke-a"),
        ClusterInfo("spoke-b", {}, "https://b.example.com", "clusters/spoke-b"),
    ]
    graph = build_hierarchy(MemorySnapshot(files), [c.path for c in clusters], clusters=clusters)
    assert graph.root_of("clusters/spoke-a", "spoke-a") == "cluster:spoke-a"
    assert graph.root_of("clusters/spoke-a") == "clusters/spoke-a/"
    assert graph.node("cluster:spoke-a").kind == NodeKind.CLUSTER
    assert "addons/spoke-a/cm.yaml" in graph.closure("cluster:spoke-a")
    assert "addons/spoke-a/cm.yaml" not in graph.closure("cluster:spoke-b")
    assert graph.owners("argocd/addons.yaml") == set()  # meaning is per cluster
    assert sorted(graph.expanded["argocd/addons.yaml"]) == ["hub", "spoke-a", "spoke-b"]
    assert expanded_by(graph, graph, "argocd/addons.yaml") == ["argocd/addons.yaml"]
    assert changed_clusters(graph, graph, "argocd/addons.yaml") == {}


def test_without_clusters_nothing_is_expanded() -> None:
    graph = build_hierarchy(MemorySnapshot(hub_files()), ["argocd"])
    assert graph.cluster_roots == {} and graph.expanded == {}


def test_a_set_broken_at_head_reaches_every_cluster_it_served() -> None:
    before = hub_files()
    broken = LIST_SET.replace(b"      - {cluster: spoke-b", b"    - {cluster: spoke-b")
    plan = plan_files(before, {**before, "argocd/addons.yaml": broken})
    assert plan.affected_names() == ["hub", "spoke-a", "spoke-b"]
    assert [v.code for v in plan.violations] == ["broken-yaml"]
