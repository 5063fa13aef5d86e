"""ApplicationSet generators expanded against an inventory and a repository revision."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest
import yaml

from planner.wiring.appset import ClusterInfo, expand

CLUSTERS = [
    ClusterInfo("dev-eu", {"env": "dev", "region": "eu"}, "https://dev-eu.example.com"),
    ClusterInfo("prod-eu", {"env": "prod", "region": "eu"}, "https://prod-eu.example.com"),
    ClusterInfo("prod-us", {"env": "prod", "region": "us"}, "https://prod-us.example.com"),
]
URL = "https://github.com/example/fleet.git"


class Repo:
    def __init__(self, files: Mapping[str, str], local: bool = True) -> None:
        self.files = {k: v.encode() for k, v in files.items()}
        self.local = local

    def directories(self) -> Sequence[str]:
        dirs = set()
        for path in self.files:
            parts = path.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                dirs.add("/".join(parts[:i]))
        return sorted(dirs)

    def file_paths(self) -> Sequence[str]:
        return sorted(self.files)

    def read(self, path: str) -> bytes | None:
        return self.files.get(path)

    def is_local(self, repo_url: str) -> bool:
        return self.local

    def is_planned(self, revision: str) -> bool:
        return revision in ("", "HEAD", "main")


REPO = Repo(
    {
        "apps/web/kustomization.yaml": "",
        "apps/api/kustomization.yaml": "",
        "apps/legacy/kustomization.yaml": "",
        "apps/web/overlays/prod/kustomization.yaml": "",
        "config/prod-eu/config.yaml": "cluster: {name: prod-eu}\nreplicas: 3\n",
        "config/list/config.yaml": "- cluster: {name: dev-eu}\n- cluster: {name: prod-us}\n",
    }
)


def appset(generators: list[Any], path: str, dest: Mapping[str, str], go: bool = False) -> Any:
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "ApplicationSet",
        "metadata": {"name": "s", "namespace": "argocd"},
        "spec": {
            "goTemplate": go,
            "generators": generators,
            "template": {
                "metadata": {"name": "x"},
                "spec": {"source": {"repoURL": URL, "path": path}, "destination": dict(dest)},
            },
        },
    }


def paths(doc: Any, repo: Repo = REPO) -> list[tuple[str, tuple[str, ...] | None]]:
    result = expand(doc, CLUSTERS, repo)
    assert not result.unmodelled, result.unmodelled
    return sorted((a.spec["source"]["path"], a.targets) for a in result.apps)


SERVER = {"server": "{{server}}"}


def test_clusters_generator_selects_by_labels() -> None:
    gen = [{"clusters": {"selector": {"matchLabels": {"env": "prod"}}}}]
    assert paths(appset(gen, "regions/{{metadata.labels.region}}", SERVER)) == [
        ("regions/eu", ("prod-eu",)),
        ("regions/us", ("prod-us",)),
    ]


def test_clusters_generator_match_expressions_and_secret_type_label() -> None:
    selector = {
        "matchLabels": {"argocd.argoproj.io/secret-type": "cluster"},
        "matchExpressions": [{"key": "env", "operator": "NotIn", "values": ["prod"]}],
    }
    gen = [{"clusters": {"selector": selector}}]
    assert paths(appset(gen, "c/{{name}}", {"name": "{{name}}"})) == [("c/dev-eu", ("dev-eu",))]


def test_clusters_generator_values_are_templated() -> None:
    gen = [
        {"clusters": {"values": {"overlay": "{{metadata.labels.env}}-{{metadata.labels.region}}"}}}
    ]
    assert [p for p, _ in paths(appset(gen, "o/{{values.overlay}}", SERVER))] == [
        "o/dev-eu",
        "o/prod-eu",
        "o/prod-us",
    ]


def test_list_generator_targets_by_server_and_by_name() -> None:
    gen = [
        {
            "list": {
                "elements": [
                    {"cluster": "prod-us", "url": "https://prod-us.example.com"},
                    {"cluster": "elsewhere", "url": "https://unknown.example.com"},
                ]
            }
        }
    ]
    assert paths(appset(gen, "c/{{cluster}}", {"server": "{{url}}"})) == [
        ("c/elsewhere", ()),  # a cluster the inventory does not know
        ("c/prod-us", ("prod-us",)),
    ]
    by_name = paths(appset(gen, "c/{{cluster}}", {"name": "{{cluster}}"}))
    assert by_name == [("c/elsewhere", ()), ("c/prod-us", ("prod-us",))]


def test_in_cluster_destination_belongs_to_the_holder() -> None:
    gen = [{"git": {"repoURL": URL, "directories": [{"path": "apps/*"}]}}]
    dest = {"server": "https://kubernetes.default.svc"}
    assert paths(appset(gen, "{{path}}", dest)) == [
        ("apps/api", None),
        ("apps/legacy", None),
        ("apps/web", None),
    ]


def test_git_directories_exclude_and_path_params() -> None:
    gen = [
        {
            "git": {
                "repoURL": URL,
                "directories": [{"path": "apps/*"}, {"path": "apps/legacy", "exclude": True}],
            }
        }
    ]
    got = paths(appset(gen, "{{path}}/{{path.basename}}-{{path[0]}}", {"name": "in-cluster"}))
    assert got == [("apps/api/api-apps", None), ("apps/web/web-apps", None)]


def test_git_files_flat_and_nested_with_list_documents() -> None:
    gen = [{"git": {"repoURL": URL, "files": [{"path": "config/**/config.yaml"}]}}]
    flat = paths(appset(gen, "c/{{cluster.name}}", {"name": "{{cluster.name}}"}))
    assert flat == [
        ("c/dev-eu", ("dev-eu",)),
        ("c/prod-eu", ("prod-eu",)),
        ("c/prod-us", ("prod-us",)),
    ]
    nested = appset(gen, "{{.path.path}}/{{.cluster.name}}", {"name": "{{.cluster.name}}"}, go=True)
    result = expand(nested, CLUSTERS, REPO)
    assert result.inputs == {"config/prod-eu/config.yaml", "config/list/config.yaml"}
    assert sorted(a.spec["source"]["path"] for a in result.apps) == [
        "config/list/dev-eu",
        "config/list/prod-us",
        "config/prod-eu/prod-eu",
    ]


def test_matrix_git_by_clusters_with_go_templates() -> None:
    gen = [
        {
            "matrix": {
                "generators": [
                    {"git": {"repoURL": URL, "directories": [{"path": "apps/web"}]}},
                    {"clusters": {"selector": {"matchLabels": {"env": "prod"}}}},
                ]
            }
        }
    ]
    doc = appset(
        gen,
        '{{.path.path}}/overlays/{{index .metadata.labels "env"}}',
        {"name": "{{.name}}"},
        go=True,
    )
    assert paths(doc) == [
        ("apps/web/overlays/prod", ("prod-eu",)),
        ("apps/web/overlays/prod", ("prod-us",)),
    ]


def test_matrix_second_generator_uses_the_first_ones_parameters() -> None:
    gen = [
        {
            "matrix": {
                "generators": [
                    {"clusters": {"selector": {"matchLabels": {"region": "eu"}}}},
                    {"git": {"repoURL": URL, "files": [{"path": "config/{{name}}/config.yaml"}]}},
                ]
            }
        }
    ]
    assert paths(appset(gen, "c/{{name}}/{{replicas}}", SERVER)) == [("c/prod-eu/3", ("prod-eu",))]


def test_merge_overrides_rows_by_merge_key() -> None:
    gen = [
        {
            "merge": {
                "mergeKeys": ["name"],
                "generators": [
                    {"clusters": {"values": {"overlay": "default"}}},
                    {"list": {"elements": [{"name": "prod-us", "values.overlay": "special"}]}},
                ],
            }
        }
    ]
    assert paths(appset(gen, "o/{{values.overlay}}", SERVER)) == [
        ("o/default", ("dev-eu",)),
        ("o/default", ("prod-eu",)),
        ("o/special", ("prod-us",)),
    ]


def test_post_selector_filters_parameters() -> None:
    gen = [{"clusters": {}, "selector": {"matchLabels": {"metadata.labels.region": "us"}}}]
    assert paths(appset(gen, "c/{{name}}", SERVER)) == [("c/prod-us", ("prod-us",))]


@pytest.mark.parametrize(
    ("generators", "reason"),
    [
        ([{"scmProvider": {"github": {"organization": "o"}}}], "scmProvider"),
        ([{"pullRequest": {"github": {}}}], "pullRequest"),
        ([{"plugin": {"configMapRef": {"name": "p"}}}], "plugin"),
        ([{"clusterDecisionResource": {"configMapRef": "x"}}], "clusterDecisionResource"),
        ([{"list": {"elementsYaml": "{{ .x }}"}}], "elementsYaml"),
        ([{"clusters": {}}], "has no value"),  # the template uses an unknown key
    ],
)
def test_what_cannot_be_expanded_is_unmodelled(generators: list[Any], reason: str) -> None:
    doc = appset(generators, "c/{{nothing}}", SERVER)
    result = expand(doc, CLUSTERS, REPO)
    assert any(reason in r for r in result.unmodelled), result.unmodelled


def test_git_generator_on_another_repository_is_unmodelled() -> None:
    gen = [
        {"git": {"repoURL": "https://github.com/other/repo.git", "directories": [{"path": "*"}]}}
    ]
    result = expand(appset(gen, "{{path}}", SERVER), CLUSTERS, Repo({}, local=False))
    assert result.unmodelled and "another repository" in result.unmodelled[0]


def test_template_patch_is_unmodelled() -> None:
    doc = appset([{"clusters": {}}], "c/{{name}}", SERVER)
    doc["spec"]["templatePatch"] = "spec: {}"
    assert expand(doc, CLUSTERS, REPO).unmodelled == ["templatePatch is not evaluated"]


def test_fingerprint_ignores_sync_policy_only() -> None:
    doc = appset([{"clusters": {}}], "c/{{name}}", SERVER)
    first = [a.fingerprint() for a in expand(doc, CLUSTERS, REPO).apps]
    doc["spec"]["template"]["spec"]["syncPolicy"] = {"automated": {}}
    assert [a.fingerprint() for a in expand(doc, CLUSTERS, REPO).apps] == first
    doc["spec"]["template"]["spec"]["destination"]["namespace"] = "web"
    assert [a.fingerprint() for a in expand(doc, CLUSTERS, REPO).apps] != first


def test_expansion_is_deterministic() -> None:
    doc = yaml.safe_load(yaml.safe_dump(appset([{"clusters": {}}], "c/{{name}}", SERVER)))
    assert expand(doc, CLUSTERS, REPO) == expand(doc, list(reversed(CLUSTERS)), REPO)


def test_git_generator_on_another_revision_is_unmodelled() -> None:
    gen = [{"git": {"repoURL": URL, "revision": "release-1", "directories": [{"path": "*"}]}}]
    result = expand(appset(gen, "{{path}}", SERVER), CLUSTERS, REPO)
    assert result.unmodelled == ["git generator reads revision 'release-1', not the one planned"]
