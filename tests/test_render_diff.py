"""Rendered diffs: the exact unified diff of a known edit, Secrets masked, object order."""

from __future__ import annotations

from collections.abc import Mapping

from planner import precise, render_diff
from planner.render_diff import DiffMemo, ObjectId, cluster_diff, object_text


def _objects(*docs: Mapping[str, object], tag: str = "clusters/a") -> list[tuple[ObjectId, str]]:
    return sorted((precise.identity(d), precise.canonical(tag, d)) for d in docs)


def _deployment(image: str, replicas: int = 2) -> dict[str, object]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "apps", "labels": {"app": "web"}},
        "spec": {
            "replicas": replicas,
            "template": {"spec": {"containers": [{"name": "web", "image": image}]}},
        },
    }


EXPECTED_EDIT = """\
--- a/Deployment/apps/web
+++ b/Deployment/apps/web
@@ -7,9 +7,9 @@
   name: web
   namespace: apps
 spec:
-  replicas: 2
+  replicas: 3
   template:
     spec:
       containers:
-        - image: web:1.0
+        - image: web:1.1
           name: web
"""


def test_a_known_edit_is_exactly_the_expected_unified_diff() -> None:
    diff = cluster_diff(
        _objects(_deployment("web:1.0")), _objects(_deployment("web:1.1", replicas=3))
    )
    assert diff.objects == (("Deployment/apps/web", "changed"),)
    assert diff.text == EXPECTED_EDIT


def test_canonical_text_sorts_keys_and_names_its_source() -> None:
    text = object_text(
        "regions/eu", {"kind": "ConfigMap", "apiVersion": "v1", "data": {"b": "1", "a": "x"}}
    )
    assert (
        text == "# source: regions/eu\napiVersion: v1\ndata:\n  a: x\n  b: '1'\nkind: ConfigMap\n"
    )


def test_added_and_removed_objects_diff_against_dev_null() -> None:
    old = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "old"}}
    new = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "apps"}}
    diff = cluster_diff(_objects(old), _objects(new))
    assert diff.objects == (("ConfigMap/old", "removed"), ("Namespace/apps", "added"))
    assert "--- a/ConfigMap/old\n+++ /dev/null\n@@ -1,5 +0,0 @@\n" in diff.text
    assert "--- /dev/null\n+++ b/Namespace/apps\n@@ -0,0 +1,5 @@\n" in diff.text
    assert diff.text.index("ConfigMap/old") < diff.text.index("Namespace/apps")


def test_unchanged_objects_are_left_out() -> None:
    same = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "same"}}
    diff = cluster_diff(_objects(same, _deployment("a")), _objects(same, _deployment("b")))
    assert [name for name, _ in diff.objects] == ["Deployment/apps/web"]
    assert "ConfigMap/same" not in diff.text


SECRET_VALUES = ("cGFzc3dvcmQxMjM=", "hunter2-top-secret", "s3cr3t-token-value")


def _secret(data: str, token: str) -> dict[str, object]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "db", "namespace": "apps"},
        "type": "Opaque",
        "data": {"password": data},
        "stringData": {"token": token, "user": "admin-user"},
    }


def test_secret_values_never_appear() -> None:
    diff = cluster_diff(
        _objects(_secret(SECRET_VALUES[0], SECRET_VALUES[2])),
        _objects(_secret("bmV3LXBhc3N3b3Jk", SECRET_VALUES[1])),
    )
    assert diff.objects == (("Secret/apps/db", "changed"),)
    for value in (*SECRET_VALUES, "bmV3LXBhc3N3b3Jk", "admin-user"):
        assert value not in diff.text
    assert "-  password: <masked sha256:" in diff.text
    assert "+  password: <masked sha256:" in diff.text
    assert "  user: <masked sha256:" in diff.text  # unchanged: a context line, masked too


def test_a_secret_added_whole_is_masked_and_other_kinds_are_not() -> None:
    diff = cluster_diff([], _objects(_secret(SECRET_VALUES[0], SECRET_VALUES[1])))
    assert all(v not in diff.text for v in SECRET_VALUES)
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": "c"},
        "data": {"k": "visible"},
    }
    assert "visible" in cluster_diff([], _objects(config)).text


def test_masks_are_stable_and_tell_values_apart() -> None:
    assert render_diff.mask("a") == render_diff.mask("a") != render_diff.mask("b")
    assert render_diff.masked({"kind": "Secret", "data": "not-a-mapping"})["data"].startswith(
        "<masked"
    )


def test_identical_pairs_are_diffed_once() -> None:
    memo = DiffMemo()
    a, b = _objects(_deployment("x")), _objects(_deployment("y"))
    first = cluster_diff(a, b, memo)
    second = cluster_diff(a, b, memo)
    assert first == second
    assert len(memo.seen) == 1
