"""Reusing the head graph as the base graph when a change leaves every edge in place."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from planner import analysis as analysis_mod
from planner import api
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.reuse import edges_unchanged
from planner.snapshot import MemorySnapshot
from tests.testing.fleetrepo import FleetRepo, default_plan, list_scenarios

_BASE = {
    "clusters/a/kustomization.yaml": b"""\
resources: [../../regions/r1]
configMapGenerator:
  - name: identity
    literals: [CLUSTER_NAME=a]
""",
    "regions/r1/kustomization.yaml": b"resources: [cm.yaml]\n",
    "regions/r1/cm.yaml": b"kind: ConfigMap\n",
}


def _unchanged(head_files: dict[str, bytes], changed: list[str]) -> bool:
    head = MemorySnapshot(head_files)
    graph = build_hierarchy(head, ["clusters/a"])
    return edges_unchanged(graph, head, MemorySnapshot(_BASE), changed)


def test_a_generator_literal_keeps_the_edges() -> None:
    files = dict(_BASE)
    files["clusters/a/kustomization.yaml"] = files["clusters/a/kustomization.yaml"].replace(
        b"CLUSTER_NAME=a", b"CLUSTER_NAME=b"
    )
    assert _unchanged(files, ["clusters/a/kustomization.yaml"])


def test_a_new_reference_changes_the_edges() -> None:
    files = {**_BASE, "regions/r1/kustomization.yaml": b"resources: [cm.yaml, other.yaml]\n"}
    assert not _unchanged(files, ["regions/r1/kustomization.yaml"])


def test_broken_yaml_changes_the_edges() -> None:
    files = {**_BASE, "regions/r1/kustomization.yaml": b"resources: [cm.yaml\n"}
    assert not _unchanged(files, ["regions/r1/kustomization.yaml"])


def test_a_leaf_file_never_decides_edges() -> None:
    files = {**_BASE, "regions/r1/cm.yaml": b"kind: ConfigMap\ndata: {}\n"}
    assert _unchanged(files, ["regions/r1/cm.yaml"])


def test_a_retargeted_flux_object_changes_the_edges() -> None:
    sync = b"""\
apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {name: apps, namespace: flux-system}
spec: {path: ./apps/PATH, sourceRef: {kind: GitRepository, name: flux-system}}
"""
    base = {
        "clusters/a/kustomization.yaml": b"resources: [sync.yaml]\n",
        "clusters/a/sync.yaml": sync.replace(b"PATH", b"one"),
        "apps/one/kustomization.yaml": b"resources: []\n",
        "apps/two/kustomization.yaml": b"resources: []\n",
    }
    head = {**base, "clusters/a/sync.yaml": sync.replace(b"PATH", b"two")}
    graph = build_hierarchy(MemorySnapshot(head), ["clusters/a"])
    changed = ["clusters/a/sync.yaml"]
    assert not edges_unchanged(graph, MemorySnapshot(head), MemorySnapshot(base), changed)


@pytest.mark.parametrize("name", list_scenarios())
def test_reuse_gives_the_same_plan_as_two_builds(
    name: str, fleet: Callable[[str], FleetRepo], monkeypatch: pytest.MonkeyPatch
) -> None:
    built = fleet(name)
    reused = default_plan(built)  # with reuse (edges_unchanged as written), once per run
    sources = api.PlanRequest(repo=built.path, base=built.base, head=built.head)
    monkeypatch.setattr(analysis_mod, "edges_unchanged", lambda *a, **k: False)
    assert api.plan(sources) == reused
