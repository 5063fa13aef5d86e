"""Inventory parsing and validation: every format, every problem reported at once."""

from __future__ import annotations

import base64

import pytest

from planner.errors import UserError
from planner.inventory import (
    Cluster,
    Inventory,
    LabelRoles,
    diff_inventories,
    parse_inventory,
)


def parse(text: str) -> Inventory:
    return parse_inventory({"clusters.yaml": text.encode()}, source="clusters.yaml")


def problems(text: str) -> list[str]:
    with pytest.raises(UserError) as info:
        parse(text)
    return [str(p) for p in info.value.problems]


def test_clusters_yaml_sorted_with_defaults() -> None:
    inv = parse("clusters:\n- name: b\n  labels: {region: eu-west}\n- name: a\n  path: x/a\n")
    assert inv.names() == ["a", "b"]
    assert inv.by_name()["a"].gitops_path == "x/a"
    assert inv.by_name()["b"].gitops_path == "clusters/b"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clusters:\n- name: Prod\n", "clusters[0].name: 'Prod' is not a valid cluster name"),
        (
            "clusters:\n- name: a\n  labels: {x: true}\n",
            "clusters[0].labels.x: Input should be a valid string",
        ),
        ("clusters:\n- name: a\n  server: http://a\n", "is not an https:// URL"),
        ("clusters:\n- name: a\n  server: 'https://{{.server}}'\n", "not allowed in a URL"),
        (
            "clusters:\n- name: a\n  path: ../outside\n",
            "must be relative and inside the repository",
        ),
        ("clusters:\n- name: a\n  path: /etc\n", "must be relative and inside the repository"),
        ("clusters:\n- name: a\n  colour: red\n", "clusters[0].colour: unknown key"),
        ("clusters:\n- name: a\n- name: a\n", "duplicate cluster name 'a'"),
        ('clusters:\n- name: "a\\n  injected:"\n', "is not a valid cluster name"),
        ("clusters:\n- name: a\n  labels: {'bad key!': x}\n", "not a valid Kubernetes label key"),
        ("clusters:\n- name: a\n  labels: {k: '{{x}}'}\n", "not a valid Kubernetes label value"),
        ("clusters: []\n", "the inventory has no clusters"),
        ("clusters: {a: 1}\n", "expected a list of clusters"),
        ("- name: a\n", "expected a mapping"),
        ("clusters:\n- name: a\nclusters:\n- name: b\n", "duplicate key 'clusters'"),
        ("clusters: [\n", "fix the YAML syntax"),
    ],
)
def test_invalid_inventories_name_file_key_and_fix(text: str, expected: str) -> None:
    found = problems(text)
    assert any(expected in p for p in found), found
    assert all(p.startswith("clusters.yaml") for p in found)


def test_every_problem_reported_at_once() -> None:
    found = problems("clusters:\n- name: A\n- name: b\n  server: ftp://x\n- name: c\n  extra: 1\n")
    assert len(found) == 3


def test_argocd_cluster_secrets() -> None:
    secret = f"""
apiVersion: v1
kind: Secret
metadata:
  name: prod-eu-west-2-secret
  labels:
    argocd.argoproj.io/secret-type: cluster
    environment: production
    region: us-east
  annotations:
    wave-planner.io/path: clusters/prod-eu-west-2
type: Opaque
data:
  name: {base64.b64encode(b"prod-eu-west-2").decode()}
stringData:
  server: https://prod-eu-west-2.example.com
---
apiVersion: v1
kind: Secret
metadata:
  name: other
  labels: {{argocd.argoproj.io/secret-type: cluster}}
stringData: {{name: dev-1, server: "https://dev-1.example.com"}}
"""
    inv = parse_inventory({"secrets.yaml": secret.encode()}, source="secrets")
    assert inv.names() == ["dev-1", "prod-eu-west-2"]
    prod = inv.by_name()["prod-eu-west-2"]
    assert prod.labels == {"environment": "production", "region": "us-east"}
    assert prod.server == "https://prod-eu-west-2.example.com"


def test_capi_clusters() -> None:
    doc = b"""
apiVersion: cluster.x-k8s.io/v1beta1
kind: Cluster
metadata:
  name: edge-1
  labels: {environment: production, region: eu-west}
  annotations: {wave-planner.io/path: sites/edge-1}
spec:
  controlPlaneEndpoint: {host: edge-1.example.com, port: 6443}
"""
    cluster = parse_inventory({"capi.yaml": doc}, source="capi").clusters[0]
    assert cluster == Cluster(
        name="edge-1",
        labels={"environment": "production", "region": "eu-west"},
        server="https://edge-1.example.com:6443",
        path="sites/edge-1",
    )


def test_non_inventory_document_is_rejected() -> None:
    with pytest.raises(UserError, match="not an inventory document"):
        parse_inventory({"x.yaml": b"kind: ConfigMap\napiVersion: v1\n"}, source="x")


def test_secret_without_cluster_label_is_rejected() -> None:
    with pytest.raises(UserError, match="not an Argo CD cluster Secret"):
        parse_inventory(
            {"x.yaml": b"kind: Secret\napiVersion: v1\nmetadata: {name: a}\n"}, source="x"
        )


@pytest.mark.parametrize(
    ("labels", "role", "value"),
    [
        ({"environment": "dev"}, "environment", "dev"),
        ({"platform.example.com/environment": "dev"}, "environment", "dev"),
        ({"env": "prod"}, "environment", "prod"),
        ({"environment": "a", "x.io/environment": "b"}, "environment", "a"),
        ({"rollout.wave": "canary"}, "wave", "canary"),
        ({"zone": "z"}, "region", None),
        ({"b.io/region": "b", "a.io/region": "a", "c.io/zone": "c"}, "region", "a"),  # sorted
        ({"x.io/regional": "r", "y.io/zone": "z"}, "region", None),
    ],
)
def test_label_roles(labels: dict[str, str], role: str, value: str | None) -> None:
    assert LabelRoles().value(labels, role) == value


def test_diff_inventories() -> None:
    base = parse("clusters:\n- name: a\n  labels: {region: us-east}\n- name: b\n- name: c\n")
    head = parse(
        "clusters:\n- name: a\n  labels: {region: eu-west}\n- name: c\n  path: x/c\n- name: d\n"
    )
    diff = diff_inventories(base, head)
    assert diff.added == ("d",)
    assert diff.removed == ("b",)
    assert diff.retargeted == {"a": ("labels",), "c": ("path",)}


def test_digest_is_order_independent() -> None:
    one = parse("clusters:\n- name: a\n- name: b\n")
    two = parse("clusters:\n- name: b\n- name: a\n")
    assert one.digest() == two.digest()


@pytest.mark.parametrize("name", ["prod.eu-west.1", "a", "in-cluster", "x" * 63])
def test_cluster_names_may_be_dns_subdomains_up_to_63(name: str) -> None:
    assert parse(f"clusters:\n- name: {name}\n").names() == [name]


@pytest.mark.parametrize("name", ["a..b", ".a", "a.", "x" * 64, "Prod", "a_b", "a/b"])
def test_cluster_names_that_cannot_name_objects(name: str) -> None:
    assert problems(f"clusters:\n- name: '{name}'\n")
