"""ExternalArtifact paths mapped back to repository paths through ArtifactGenerator copy rules."""

from __future__ import annotations

import pytest

from planner.wiring.artifacts import map_path, map_paths, source_base
from planner.wiring.objects import ArtifactSpec, CopyRule, SourceRef
from planner.wiring.scanner import scan_documents
from tests.testing.wirekit import graph_of

HERE = SourceRef("GitRepository", "flux-system", "flux-system")
OTHER = SourceRef("GitRepository", "charts", "flux-system")
EXISTING = {
    "apps/base",
    "apps/base/podinfo",
    "apps/staging",
    "apps/production",
    "infrastructure",
    "infrastructure/configs",
    "infrastructure/controllers",
    "values/common.yaml",
}


def _spec(*rules: tuple[str, str, str]) -> ArtifactSpec:
    return ArtifactSpec(
        "apps",
        "flux-system",
        "gen",
        (("repo", HERE), ("charts", OTHER), ("oci", SourceRef("OCIRepository", "o"))),
        tuple(CopyRule(alias, src, dest) for alias, src, dest in rules),
    )


def _decide(source: SourceRef) -> bool | None:
    return source.name == "flux-system"


@pytest.mark.parametrize(
    ("rules", "path", "folders", "contents"),
    [
        ([("repo", "infrastructure/**", ".")], "./configs", ["infrastructure/configs"], []),
        (
            [("repo", "apps/base/**", "base"), ("repo", "apps/staging/**", "staging")],
            "./staging",
            ["apps/staging"],
            [],
        ),
        (
            [("repo", "apps/base/**", "base"), ("repo", "apps/staging/**", "staging")],
            "./base/podinfo",
            ["apps/base/podinfo"],
            [],
        ),
        (
            [("repo", "apps/base/**", "base"), ("repo", "apps/staging/**", "staging")],
            ".",
            [],
            ["apps/base", "apps/staging"],
        ),
        ([("repo", "apps/staging", "deploy")], "./deploy/staging", ["apps/staging"], []),
        ([("repo", "values/*.yaml", "staging/values")], "./staging", [], ["values"]),
    ],
)
def test_copy_rules_map_artifact_paths_to_repository_paths(
    rules: list[tuple[str, str, str]], path: str, folders: list[str], contents: list[str]
) -> None:
    found = map_path(_spec(*rules), path, _decide, lambda p: p in EXISTING or p == "values")
    assert found.folders == folders
    assert found.contents == contents
    assert not found.unmodelled


def test_an_alias_on_another_repository_is_external_and_oci_is_unmodelled() -> None:
    found = map_path(
        _spec(("charts", "values/**", "values"), ("oci", "manifests/**", "oci")),
        "./values",
        _decide,
        lambda p: True,
    )
    assert found.folders == [] and found.external == ["@charts"]
    assert found.unmodelled == ["alias @oci is a OCIRepository"]


def test_union_over_generators_of_each_cluster() -> None:
    staging = _spec(("repo", "apps/staging/**", "env"))
    production = _spec(("repo", "apps/production/**", "env"))
    found = map_paths([staging, production], "./env", _decide, lambda p: p in EXISTING)
    assert found.folders == ["apps/staging", "apps/production"]


@pytest.mark.parametrize(
    ("source", "base", "keeps"),
    [("a/b/**", "a/b", True), ("a/*.yaml", "a", True), ("a/b", "a/b", False), ("**", ".", True)],
)
def test_source_base(source: str, base: str, keeps: bool) -> None:
    assert source_base(CopyRule("x", source, ".")) == (base, keeps)


GENERATOR = """apiVersion: source.extensions.fluxcd.io/v1beta1
kind: ArtifactGenerator
metadata: {name: flux-system, namespace: flux-system}
spec:
  sources:
  - {alias: fleet, kind: GitRepository, name: flux-system}
  artifacts:
  - name: apps
    copy:
    - {from: "@fleet/apps/base/**", to: "@artifact/base/"}
    - {from: "@fleet/apps/staging/**", to: "@artifact/staging/"}
"""

ARTIFACT_KS = """apiVersion: kustomize.toolkit.fluxcd.io/v1
kind: Kustomization
metadata: {{name: apps, namespace: flux-system}}
spec:
  path: {path}
  sourceRef: {{kind: ExternalArtifact, name: {name}}}
"""


def test_scan_reads_generators() -> None:
    import yaml

    (spec,) = scan_documents([yaml.safe_load(GENERATOR)]).artifacts
    assert spec.name == "apps" and spec.copy[1] == CopyRule("fleet", "apps/staging/**", "staging")


def test_hierarchy_follows_an_external_artifact_into_the_repository() -> None:
    files = {
        "clusters/staging/artifacts.yaml": GENERATOR,
        "clusters/staging/apps.yaml": ARTIFACT_KS.format(path="./staging", name="apps"),
        "apps/staging/kustomization.yaml": "resources: [../base/podinfo]\n",
        "apps/base/podinfo/kustomization.yaml": "resources: [cm.yaml]\n",
        "apps/base/podinfo/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n",
        "apps/production/cm.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n",
    }
    h = graph_of(files, ["clusters/staging"])
    top = h.roots["clusters/staging"]
    assert h.owners("apps/base/podinfo/cm.yaml") & h.closure(top)
    assert not h.owners("apps/production/cm.yaml")
    assert h.wiring == [] and h.problems == []


def test_an_artifact_no_generator_produces_is_unmodelled() -> None:
    files = {"clusters/staging/apps.yaml": ARTIFACT_KS.format(path="./x", name="nowhere")}
    h = graph_of(files, ["clusters/staging"])
    (note,) = h.unmodelled()
    assert "no ArtifactGenerator" in note.reason and note.file == "clusters/staging/apps.yaml"


def test_a_layout_the_artifact_does_not_keep_reads_every_copied_source() -> None:
    """`shared/base/**` -> `base/` next to `apps/staging/**` -> `staging/`: the staging
    kustomization's `../base` is shared/base in the artifact, not apps/base."""
    spec = _spec(("repo", "shared/base/**", "base"), ("repo", "apps/staging/**", "staging"))
    found = map_paths([spec], "./staging", _decide, lambda p: p in {"shared/base", "apps/staging"})
    assert found.folders == ["apps/staging"]
    assert found.contents == ["shared/base"]


def test_a_kept_layout_reads_only_the_mapped_folder() -> None:
    spec = _spec(("repo", "apps/base/**", "base"), ("repo", "apps/staging/**", "staging"))
    found = map_paths([spec], "./staging", _decide, lambda p: p in EXISTING)
    assert found.folders == ["apps/staging"] and found.contents == []
