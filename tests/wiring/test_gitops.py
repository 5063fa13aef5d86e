"""Flux and Argo CD objects that pull repository paths in, and deciding what is this repo."""

from __future__ import annotations

import pytest

from planner.wiring.objects import ARGO, FLUX, GitSource, SourceRef
from planner.wiring.scanner import might_contain_objects, scan_documents
from planner.wiring.sources import SourceResolver, repo_slug


def test_flux_kustomization_and_git_source() -> None:
    scan = scan_documents(
        [
            {
                "apiVersion": "source.toolkit.fluxcd.io/v1",
                "kind": "GitRepository",
                "metadata": {"name": "apps", "namespace": "flux-system"},
                "spec": {"url": "https://github.com/o/fleet"},
            },
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "apps", "namespace": "flux-system"},
                "spec": {
                    "path": "./apps/prod",
                    "sourceRef": {"kind": "GitRepository", "name": "apps"},
                },
            },
            {
                "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
                "kind": "Kustomization",
                "metadata": {"name": "templated"},
                "spec": {
                    "path": "./apps/${CLUSTER}",
                    "sourceRef": {"kind": "GitRepository", "name": "x"},
                },
            },
        ]
    )
    assert scan.sources == [GitSource("apps", "flux-system", "https://github.com/o/fleet")]
    assert [(f.path, f.mode) for f in scan.follows] == [("./apps/prod", FLUX)]


def test_argo_sources_and_json6902_patch() -> None:
    scan = scan_documents(
        [
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Application",
                "spec": {
                    "sources": [{"repoURL": "u", "path": "a"}, {"repoURL": "u", "chart": "c"}]
                },
            },
            [{"op": "replace", "path": "/spec/source/path", "value": "b"}],
        ]
    )
    assert [(f.path, f.mode) for f in scan.follows] == [("a", ARGO), ("b", ARGO)]


@pytest.mark.parametrize(
    ("url", "slug"),
    [
        ("https://github.com/Org/Fleet.git", "org/fleet"),
        ("git@github.com:org/fleet.git", "org/fleet"),
        ("ssh://git@host:22/org/fleet/", "org/fleet"),
        ("fleet", ""),
    ],
)
def test_repo_slug(url: str, slug: str) -> None:
    assert repo_slug(url) == slug


def test_source_resolver() -> None:
    resolver = SourceResolver(["flux-system"], ["https://github.com/org/fleet"])
    resolver.learn([GitSource("other", "ns", "https://github.com/org/podinfo")])
    assert resolver.is_local(SourceRef("GitRepository", "flux-system"), False) is True
    assert resolver.is_local(SourceRef("GitRepository", "other", "ns"), True) is False
    assert resolver.is_local(SourceRef("GitRepository", "unseen", "ns"), True) is None
    assert resolver.is_local(SourceRef("OCIRepository", "x"), True) is False
    assert resolver.is_local(SourceRef("url", url="git@github.com:org/fleet"), False) is True


def test_pre_filter_skips_nested_kinds() -> None:
    assert might_contain_objects(b"apiVersion: x\nkind: Application\n")
    assert not might_contain_objects(b"spec:\n  names:\n      kind: Kustomization\n")
