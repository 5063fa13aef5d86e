"""planner.pins.nesting / planner.pins.pinning: which nested objects get which patches, and what
cannot be pinned. Pure, from in-memory snapshots (the end-to-end proof is
tests/scenarios/test_pins_emulated.py)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from planner.pins.nesting import PinContext, Pins, Tracer
from planner.pins.pinning import Wanted, fleet_pins, leaks
from planner.snapshot import MemorySnapshot

URL = "https://github.com/example/fleet"
CONTEXT = PinContext(frozenset({"flux-system"}), (URL,))
SOURCE = {"kind": "GitRepository", "name": "c1", "namespace": "flux-system"}
BASE, HEAD = "a" * 40, "b" * 40


def ks(name: str, path: str, source: str = "flux-system", **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1",
        "kind": "Kustomization",
        "metadata": {"name": name, "namespace": "flux-system"},
        "spec": {"path": path, "sourceRef": {"kind": "GitRepository", "name": source}, **spec},
    }


def app(name: str, path: str, url: str = URL, revision: str = "HEAD") -> dict[str, Any]:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "namespace": "argocd"},
        "spec": {"source": {"repoURL": url, "targetRevision": revision, "path": path}},
    }


def _text(value: Any) -> bytes:
    if isinstance(value, dict):
        return yaml.safe_dump(value).encode()
    return yaml.safe_dump_all(value).encode()


def snap(files: dict[str, Any], revision: str = BASE) -> MemorySnapshot:
    data = {path: _text(value) for path, value in files.items()}
    return MemorySnapshot(data, revision=revision)


def pins(files: dict[str, Any], mode: str = "flux", path: str = "clusters/c1") -> Pins:
    return Tracer(snap(files), CONTEXT).pins(path, mode, SOURCE, BASE)


def ops(found: Pins, name: str) -> list[dict[str, Any]]:
    pin = next(p for p in found.pins if p.name == name)
    return [dict(op) for op in pin.ops]


def test_flux_two_levels_point_every_kustomization_at_the_pinned_source() -> None:
    found = pins(
        {
            "clusters/c1/apps.yaml": [ks("apps", "./tenants")],
            "tenants/podinfo.yaml": [ks("podinfo", "./apps/podinfo")],
            "apps/podinfo/cm.yaml": [
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x"}}
            ],
        }
    )
    assert not found.unpinned
    apps = ops(found, "apps")
    assert apps[0] == {"op": "add", "path": "/spec/sourceRef", "value": SOURCE}
    nested = apps[1]
    assert nested["path"] == "/spec/patches"
    (entry,) = nested["value"]
    assert entry["target"] == {
        "group": "kustomize.toolkit.fluxcd.io",
        "kind": "Kustomization",
        "name": "podinfo",
    }
    assert yaml.safe_load(entry["patch"]) == [
        {"op": "add", "path": "/spec/sourceRef", "value": SOURCE}
    ]


def test_existing_patches_of_a_nested_kustomization_are_kept_first() -> None:
    own = [{"patch": "- op: add\n  path: /x\n  value: 1\n", "target": {"kind": "ConfigMap"}}]
    found = pins(
        {
            "clusters/c1/apps.yaml": [ks("apps", "./tenants", patches=own)],
            "tenants/podinfo.yaml": [ks("podinfo", "./apps")],
        }
    )
    value = ops(found, "apps")[1]["value"]
    assert value[0] == own[0]
    assert value[1]["target"]["name"] == "podinfo"


def test_targets_use_names_after_name_prefix_and_suffix() -> None:
    found = pins(
        {
            "clusters/c1/kustomization.yaml": {
                "resources": ["apps.yaml"],
                "namePrefix": "p-",
                "nameSuffix": "-s",
            },
            "clusters/c1/apps.yaml": [ks("apps", "./apps")],
        }
    )
    assert [p.name for p in found.pins] == ["p-apps-s"]


def test_sources_of_other_repositories_are_left_alone() -> None:
    found = pins(
        {
            "clusters/c1/git.yaml": [
                {
                    "apiVersion": "source.toolkit.fluxcd.io/v1",
                    "kind": "GitRepository",
                    "metadata": {"name": "vendor", "namespace": "flux-system"},
                    "spec": {"url": "https://github.com/vendor/charts", "ref": {"branch": "main"}},
                }
            ],
            "clusters/c1/vendor.yaml": [ks("vendor", "./deploy", source="vendor")],
            "clusters/c1/apps.yaml": [app("other", "deploy", url="https://github.com/other/repo")],
        }
    )
    assert found.pins == [] and found.unpinned == []


def test_a_branch_following_git_repository_of_this_repository_is_pinned() -> None:
    repo = {
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "GitRepository",
        "metadata": {"name": "fleet", "namespace": "flux-system"},
        "spec": {"url": URL + ".git", "ref": {"branch": "main"}},
    }
    found = pins(
        {"clusters/c1/git.yaml": [repo], "clusters/c1/a.yaml": [ks("a", "./a", source="fleet")]}
    )
    assert ops(found, "fleet") == [{"op": "add", "path": "/spec/ref", "value": {"commit": BASE}}]
    assert ops(found, "a")[0]["value"] == SOURCE


def test_a_templated_path_is_reported_not_guessed() -> None:
    found = pins({"clusters/c1/apps.yaml": [ks("apps", "./apps/${cluster}")]})
    (item,) = found.unpinned
    assert item.object == "Kustomization flux-system/apps"
    assert item.file == "clusters/c1/apps.yaml"
    assert "templated path" in item.reason


def test_an_application_set_reads_the_pinned_revision() -> None:
    appset = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "guestbooks", "namespace": "argocd"},
        "spec": {
            "generators": [{"git": {"repoURL": URL, "revision": "HEAD"}}],
            "template": {
                "spec": {"source": {"repoURL": URL, "path": "{{path}}", "targetRevision": "HEAD"}}
            },
        },
    }
    found = pins({"clusters/c1/set.yaml": [appset]}, mode="argo")
    assert found.unpinned == []
    assert ops(found, "guestbooks") == [
        {"op": "add", "path": "/spec/template/spec/source/targetRevision", "value": BASE},
        {"op": "add", "path": "/spec/generators/0/git/revision", "value": BASE},
    ]
    templated = yaml.safe_load(yaml.safe_dump(appset))
    templated["spec"]["template"]["spec"]["source"]["targetRevision"] = "{{.branch}}"
    found = pins({"clusters/c1/set.yaml": [templated]}, mode="argo")
    assert [u.object for u in found.unpinned] == ["ApplicationSet argocd/guestbooks"]


def test_argo_children_get_the_revision_and_their_own_kustomize_patches() -> None:
    found = Tracer(
        snap(
            {
                "clusters/c1/root.yaml": [app("platform", "platform")],
                "platform/guestbook.yaml": [app("guestbook", "apps/guestbook")],
                "apps/guestbook/cm.yaml": [
                    {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "g"}}
                ],
                "clusters/c1/pinned.yaml": [app("fixed", "platform", revision="c" * 40)],
            }
        ),
        CONTEXT,
    ).pins("clusters/c1", "argo", SOURCE, "{{.revision}}")
    assert [p.name for p in found.pins] == ["platform"]  # a commit already is pinned
    first, second = ops(found, "platform")
    assert first == {"op": "add", "path": "/spec/source/targetRevision", "value": "{{.revision}}"}
    assert second["path"] == "/spec/source/kustomize"
    (entry,) = second["value"]["patches"]
    assert entry["target"]["name"] == "guestbook"


def test_flux_objects_under_argo_cd_without_their_source_leak() -> None:
    found = pins({"clusters/c1/apps.yaml": [ks("apps", "./apps")]}, mode="argo")
    assert [u.object for u in found.unpinned] == ["Kustomization flux-system/apps"]


def test_a_kustomization_applying_its_own_folder_is_pinned_without_recursing() -> None:
    found = pins(
        {"clusters/c1/flux-system/sync.yaml": [ks("flux-system", "./clusters/c1")]},
    )
    assert ops(found, "flux-system") == [{"op": "add", "path": "/spec/sourceRef", "value": SOURCE}]


def test_artifact_generator_sources_and_consumers_are_pinned() -> None:
    generator = {
        "apiVersion": "source.extensions.fluxcd.io/v1beta1",
        "kind": "ArtifactGenerator",
        "metadata": {"name": "apps", "namespace": "flux-system"},
        "spec": {
            "sources": [{"alias": "repo", "kind": "GitRepository", "name": "flux-system"}],
            "artifacts": [
                {"name": "apps", "copy": [{"from": "@repo/apps/**", "to": "@artifact/"}]}
            ],
        },
    }
    consumer = ks("apps", "./team")
    consumer["spec"]["sourceRef"] = {"kind": "ExternalArtifact", "name": "apps"}
    found = pins(
        {
            "clusters/c1/gen.yaml": [generator, consumer],
            "apps/team/nested.yaml": [ks("team", "./apps/team/deploy")],
        }
    )
    assert not found.unpinned
    assert ops(found, "apps")[0]["path"] in ("/spec/sources/0", "/spec/patches")
    generator_pin = next(p for p in found.pins if p.kind == "ArtifactGenerator")
    assert generator_pin.ops[0]["value"] == {"alias": "repo", **SOURCE}


def test_fleet_pins_name_each_clusters_own_source_and_leaks_name_held_clusters() -> None:
    files = {
        "clusters/c1/apps.yaml": [ks("apps", "./apps")],
        "clusters/c2/apps.yaml": [ks("apps", "./apps/${x}")],
    }
    found = fleet_pins(
        {BASE: snap(files), HEAD: snap(files, HEAD)},
        [
            Wanted("c1", "clusters/c1", BASE),
            Wanted("c2", "clusters/c2", BASE),
            Wanted("c3", "clusters/c2", HEAD),
        ],
        CONTEXT,
        target="flux",
    )
    assert ops(found[("c1", BASE)], "apps")[0]["value"]["name"] == "c1"
    assert ops(found[("c2", BASE)], "apps")[0]["value"]["name"] == "c2"
    (leak,) = leaks(found, HEAD)
    assert leak.clusters == ("c2",)  # c3 runs head: the branch tip is what it runs anyway
    assert "Kustomization flux-system/apps" in leak.message()


@pytest.mark.parametrize("text", ["- a\n- b\n", "x: |\n  y\n"])
def test_patch_texts_are_literal_blocks_that_read_back(text: str) -> None:
    from planner.yamlsafe import dump_manifest as dump

    out = dump({"patch": text})
    assert out.startswith("patch: |\n")
    assert yaml.safe_load(out) == {"patch": text}


def test_artifact_paths_map_back_through_the_longest_destination() -> None:
    from planner.wiring.artifacts import artifact_path

    generator = {
        "spec": {
            "sources": [
                {"alias": "repo", "kind": "GitRepository", "name": "flux-system"},
                {"alias": "oci", "kind": "OCIRepository", "name": "vendor"},
            ],
            "artifacts": [
                {
                    "name": "app",
                    "copy": [
                        {"from": "@repo/deploy/**", "to": "@artifact/app/"},
                        {"from": "@repo/deploy/backend/**", "to": "@artifact/app/backend/"},
                        {"from": "@oci/manifests/**", "to": "@artifact/vendor/"},
                    ],
                }
            ],
        }
    }
    local = {"flux-system"}.__contains__
    assert artifact_path("app", "app/backend", [generator], local) == (True, True, "deploy/backend")
    assert artifact_path("app", "app", [generator], local) == (True, True, "deploy")
    assert artifact_path("app", "elsewhere", [generator], local) == (True, True, None)
    assert artifact_path("other", "app", [generator], local) == (False, False, None)
