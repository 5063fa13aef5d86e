"""Every kustomization field that references a file, and remote references."""

from __future__ import annotations

import pytest

from planner.kustomize import FILE, RESOURCE, Reference, inline_patches, is_remote, references


def test_references_in_order_with_their_fields() -> None:
    doc = {
        "resources": ["../base", "ns.yaml", 3, "inline:\n  yaml"],
        "components": ["../comp"],
        "patches": [{"path": "p.yaml"}, {"patch": "kind: X\n"}],
        "configMapGenerator": [{"name": "c", "files": ["k=f.txt", "g.txt"], "envs": ["e.env"]}],
        "openapi": {"path": "schema.json"},
    }
    assert references(doc) == [
        Reference("resources", "../base", RESOURCE),
        Reference("resources", "ns.yaml", RESOURCE),
        Reference("components", "../comp", RESOURCE),
        Reference("patches.path", "p.yaml", FILE),
        Reference("configMapGenerator.files", "f.txt", FILE),
        Reference("configMapGenerator.files", "g.txt", FILE),
        Reference("configMapGenerator.envs", "e.env", FILE),
        Reference("openapi.path", "schema.json", FILE),
    ]
    assert inline_patches(doc) == ["kind: X\n"]


def test_odd_shapes_are_ignored_not_fatal() -> None:
    assert references({"resources": "single.yaml", "patches": "x", "openapi": []}) == [
        Reference("resources", "single.yaml", RESOURCE)
    ]


@pytest.mark.parametrize(
    ("ref", "remote"),
    [
        ("https://github.com/o/r//deploy?ref=v1", True),
        ("github.com/o/r/deploy?ref=v1", True),
        ("git::https://example.com/r.git", True),
        ("oci://registry/x", True),
        ("git@github.com:o/r.git", True),
        ("../base", False),
        ("github-config.yaml", False),
    ],
)
def test_remote_references(ref: str, remote: bool) -> None:
    assert is_remote(ref) is remote
