"""Argo CD emitter: ApplicationSets per wave (or one RollingSync), pinning, names, shards."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import api
from planner.adapters.demo import build
from planner.emit.argocd import Strategy, render, shard_names
from planner.emit.pinned import MAX_OBJECT_BYTES, Element, PinnedPlan
from planner.errors import UserError
from planner.inventory import parse_inventory
from planner.policy import ArgoCDSettings, load_policy
from planner.yamlsafe import json_size
from tests.testing.emitkit import (
    Planned,
    argocd_elements,
    expected_revisions,
    planned,
    schema_errors,
    yaml_files,
)
from tests.testing.examples import examples

BASE = "a" * 40
HEAD = "b" * 40


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Planned:
    repo = build(tmp_path_factory.mktemp("argocd") / "fleet-config")
    return planned(api.PlanRequest(repo=repo.path, base=repo.base, head=repo.head))


def synthetic(
    clusters: list[tuple[str, str, str]], *, server: bool = True, path_len: int = 0
) -> PinnedPlan:
    """A rollout of (name, wave, region) clusters, every one affected in one step per wave."""
    waves: dict[str, list[Element]] = {}
    for name, wave, _ in clusters:
        path = f"clusters/{name}" + "/x" * path_len
        waves.setdefault(wave, []).append(
            Element(
                cluster=name,
                server=f"https://{name}.example.com" if server else "",
                path=path,
                revision=BASE,
                wave=wave,
                step=wave,
            )
        )
    return PinnedPlan(
        plan_id="0123456789ab",
        base=BASE,
        head=HEAD,
        emergency=None,
        steps=tuple(waves),
        released=(),
        waves=waves,
        regions={name: region for name, _, region in clusters},
        repo_url="https://git.example.com/fleet.git",
    )


def appsets(files: dict[str, bytes]) -> dict[str, dict[str, Any]]:
    return {
        doc["metadata"]["name"]: doc
        for docs in yaml_files(files).values()
        for doc in docs
        if doc["kind"] == "ApplicationSet"
    }


# ----------------------------------------------------------------------------- demo


@pytest.mark.parametrize("strategy", list(Strategy))
def test_demo_matches_golden_files(
    demo: Planned, strategy: Strategy, golden: Callable[[str, str], None]
) -> None:
    files = render(demo.rollout(1), demo.policy.argocd, strategy)
    for path, data in files.items():
        golden(f"emit/argocd-{strategy.value}-released-1/{path}", data.decode())


@pytest.mark.parametrize("strategy", list(Strategy))
@pytest.mark.parametrize("released", [0, 1, 2, "all"])
def test_every_manifest_is_valid_and_pins_every_cluster_once(
    demo: Planned, strategy: Strategy, released: int | str
) -> None:
    files = render(demo.rollout(released), demo.policy.argocd, strategy)
    assert schema_errors(files) == []
    elements = argocd_elements(files)
    names = [e["cluster"] for e in elements]
    assert sorted(names) == sorted(demo.inventory.names())
    expected = expected_revisions(demo.plan, released)
    assert {e["cluster"]: e["revision"] for e in elements} == expected
    by_name = demo.inventory.by_name()
    for element in elements:
        cluster = by_name[element["cluster"]]
        assert element["path"] == cluster.gitops_path
        assert element["server"] == cluster.server
        assert len(element["revision"]) == 40


def test_released_zero_keeps_affected_clusters_on_base(demo: Planned) -> None:
    files = render(demo.rollout(0), demo.policy.argocd, Strategy.list)
    assert demo.plan.summary.clusters_affected == 7
    assert {e["revision"] for e in argocd_elements(files)} == {demo.plan.base}
    files = render(demo.rollout("all"), demo.policy.argocd, Strategy.list)
    assert {e["revision"] for e in argocd_elements(files)} == {demo.plan.head}


def test_names_never_depend_on_the_rollout(demo: Planned) -> None:
    """Advancing a rollout changes revisions (and the released count), nothing else."""

    def shape(released: int | str) -> Any:
        files = render(demo.rollout(released), demo.policy.argocd, Strategy.list)
        out = {}
        for name, doc in appsets(files).items():
            for element in doc["spec"]["generators"][0]["list"]["elements"]:
                element.pop("revision")
            doc["metadata"]["annotations"].pop("wave-planner.io/released")
            out[name] = doc
        return sorted(files), out

    assert shape(0) == shape(1) == shape("all")


def test_one_application_set_per_wave_with_the_policy_template(demo: Planned) -> None:
    policy = load_policy(
        b"""
waves:
- {name: canary, selector: {matchLabels: {rollout.wave: canary}}}
- {name: rest, selector: {}}
argocd:
  project: fleet
  namespace: gitops
  destination_namespace: platform
  name_prefix: fleet
  repoURL: git@github.com:example/fleet-config.git
  syncPolicy: {automated: {prune: true, selfHeal: true}, syncOptions: [CreateNamespace=true]}
""",
        source="rollout.yaml",
    )
    rollout = demo.rollout(0, url="https://example.com/x")
    rollout = PinnedPlan(
        **{**rollout.__dict__, "waves": {"canary": [], "rest": rollout.elements()}}
    )
    files = render(rollout, policy.argocd, Strategy.list)
    assert sorted(files) == ["fleet-rest.yaml", "kustomization.yaml"]  # empty waves: no object
    doc = appsets(files)["fleet-rest"]
    assert doc["metadata"]["namespace"] == "gitops"
    assert doc["metadata"]["labels"]["wave-planner.io/wave"] == "rest"
    annotations = doc["metadata"]["annotations"]
    assert annotations["wave-planner.io/plan-id"] == demo.plan.id
    assert annotations["wave-planner.io/base"] == demo.plan.base
    assert annotations["wave-planner.io/head"] == demo.plan.head
    spec = doc["spec"]
    assert spec["goTemplate"] is True
    assert spec["goTemplateOptions"] == ["missingkey=error"]
    template = spec["template"]
    assert template["metadata"]["name"] == "fleet-{{.cluster}}"
    assert template["metadata"]["labels"]["wave-planner.io/wave"] == "{{.wave}}"
    assert template["spec"]["project"] == "fleet"
    assert template["spec"]["source"] == {
        "repoURL": "https://example.com/x",
        "targetRevision": "{{.revision}}",
        "path": "{{.path}}",
    }
    assert template["spec"]["destination"] == {"server": "{{.server}}", "namespace": "platform"}
    assert template["spec"]["syncPolicy"] == policy.argocd.syncPolicy
    assert spec["syncPolicy"] == {"preserveResourcesOnDeletion": True}
    assert schema_errors(files) == []


def test_rolling_sync_is_one_application_set_with_a_step_per_wave(demo: Planned) -> None:
    settings_ = ArgoCDSettings(max_update="25%")
    files = render(demo.rollout(1), settings_, Strategy.rolling_sync)
    assert sorted(files) == ["kustomization.yaml", "wave-rollout.yaml"]
    doc = appsets(files)["wave-rollout"]
    strategy = doc["spec"]["strategy"]
    assert strategy["type"] == "RollingSync"
    steps = strategy["rollingSync"]["steps"]
    assert [s["matchExpressions"] for s in steps] == [
        [{"key": "wave-planner.io/wave", "operator": "In", "values": [wave]}]
        for wave in ("canary", "staging", "production")
    ]
    assert {s["maxUpdate"] for s in steps} == {"25%"}
    labels = doc["spec"]["template"]["metadata"]["labels"]
    assert labels["wave-planner.io/wave"] == "{{.wave}}"
    waves = [e["wave"] for e in doc["spec"]["generators"][0]["list"]["elements"]]
    assert waves == sorted(waves, key=["canary", "staging", "production"].index)


def test_clusters_without_a_server_are_addressed_by_name() -> None:
    rollout = synthetic([("a", "w", "r"), ("b", "w", "r")], server=False)
    files = render(rollout, ArgoCDSettings(), Strategy.list)
    doc = appsets(files)["wave-w"]
    destination = doc["spec"]["template"]["spec"]["destination"]
    assert destination == {"server": "{{.server}}", "name": "{{.destinationName}}"}
    elements = doc["spec"]["generators"][0]["list"]["elements"]
    assert [(e["server"], e["destinationName"]) for e in elements] == [("", "a"), ("", "b")]
    assert schema_errors(files) == []


# --------------------------------------------------------------------------- shards


def test_a_large_wave_is_sharded_by_region_then_name() -> None:
    clusters = [(f"c{i:04d}", "prod", "zz" if i % 2 else "aa") for i in range(1200)]
    files = render(synthetic(clusters), ArgoCDSettings(shard_size=500), Strategy.list)
    sets = appsets(files)
    assert sorted(sets) == ["wave-prod-1", "wave-prod-2", "wave-prod-3"]
    sizes = [len(sets[n]["spec"]["generators"][0]["list"]["elements"]) for n in sorted(sets)]
    assert sizes == [400, 400, 400]
    first = [e["cluster"] for e in sets["wave-prod-1"]["spec"]["generators"][0]["list"]["elements"]]
    assert first == [f"c{i:04d}" for i in range(0, 800, 2)]  # region aa first, by name
    assert schema_errors(files) == []


names = st.from_regex(r"\A[a-z][a-z0-9-]{0,10}[a-z0-9]\Z")


@settings(max_examples=examples(60), deadline=None)
@given(
    clusters=st.dictionaries(names, st.sampled_from(["eu", "us", ""]), min_size=1, max_size=40),
    size=st.integers(min_value=1, max_value=15),
    revisions=st.lists(st.booleans(), min_size=40, max_size=40),
)
def test_shards_depend_on_the_inventory_only(
    clusters: dict[str, str], size: int, revisions: list[bool]
) -> None:
    elements = [
        Element(n, "", f"clusters/{n}", BASE if r else HEAD, "w", "w" if r else "")
        for n, r in zip(sorted(clusters), revisions, strict=False)
    ]
    shards = shard_names("wave-w", elements, clusters, size)
    flat = [e for _, part in shards for e in part]
    assert sorted(e.cluster for e in flat) == sorted(e.cluster for e in elements)
    assert all(0 < len(part) <= size for _, part in shards)
    assert [e.cluster for e in flat] == sorted(
        (e.cluster for e in elements), key=lambda n: (clusters[n], n)
    )
    if len(shards) > 1:
        assert [n for n, _ in shards] == [f"wave-w-{i}" for i in range(1, len(shards) + 1)]
    repinned = [Element(e.cluster, "", e.path, HEAD, "w", "") for e in elements]
    again = shard_names("wave-w", repinned, clusters, size)
    assert [(n, [e.cluster for e in p]) for n, p in again] == [
        (n, [e.cluster for e in p]) for n, p in shards
    ]


def test_every_object_stays_well_under_the_etcd_limit() -> None:
    """Long names and paths: full shards of the default size (500) stay within the budget
    (an object's size depends on its shard, not on the size of the fleet)."""
    long = [(f"cluster-{i:05d}-" + "x" * 40, "prod", f"region-{i % 7}") for i in range(1000)]
    files = render(synthetic(long, path_len=20), ArgoCDSettings(), Strategy.list)
    for docs in yaml_files(files).values():
        for doc in docs:
            assert json_size(doc) < MAX_OBJECT_BYTES < 1_572_864 // 2
    elements = [s["spec"]["generators"][0]["list"]["elements"] for s in appsets(files).values()]
    assert [len(e) for e in elements] == [500, 500]


def test_an_object_over_the_byte_budget_is_refused() -> None:
    long = [(f"cluster-{i:05d}-" + "x" * 40, "prod", "r") for i in range(5000)]
    with pytest.raises(UserError, match=r"lower `argocd\.shard_size`"):
        render(synthetic(long, path_len=20), ArgoCDSettings(shard_size=5000), Strategy.list)


# ----------------------------------------------------------------- hostile values


@pytest.mark.parametrize(
    "entry",
    [
        "{name: '{{.server}}'}",
        "{name: ok, server: 'https://x.example.com/{{.path}}'}",
        "{name: ok, server: 'https://x.example.com\"\\nkind: Secret'}",
        "{name: ok, server: 'http://plain.example.com'}",
        "{name: ok, path: 'clusters/{{.cluster}}'}",
        '{name: ok, path: "clusters/a\\nb: c"}',
        "{name: ok, path: ../outside}",
        "{name: ok, labels: {region: '{{x}}'}}",
        "{name: ok, labels: {'a b': c}}",
        "{name: 'Caps'}",
        '{name: "ok\\n"}',
        '{name: ok, path: "clusters/a\\n"}',
        '{name: ok, labels: {region: "eu\\n"}}',
        '{name: ok, labels: {"region\\n": eu}}',
        '{name: ok, server: "https://x.example.com\\n"}',
        "{name: 'a: b'}",
    ],
)
def test_hostile_inventory_values_are_rejected_before_emission(entry: str) -> None:
    with pytest.raises(UserError):
        parse_inventory({"clusters.yaml": f"clusters: [{entry}]".encode()}, source="x")


@pytest.mark.parametrize(
    "argocd",
    [
        "{repoURL: 'https://example.com/{{.cluster}}'}",
        "{repoURL: 'https://example.com/a b'}",
        "{repoURL: 'file:///srv/git/fleet'}",
        "{project: '{{.cluster}}'}",
        "{name_prefix: 'x-{{.cluster}}'}",
        "{namespace: 'argocd\\nkind: Secret'}",
        "{destination_namespace: '{{.wave}}'}",
        "{syncPolicy: {syncOptions: ['{{.cluster}}']}}",
        "{max_update: 'lots'}",
        '{project: "default\\n"}',
    ],
)
def test_hostile_policy_values_are_rejected_before_emission(argocd: str) -> None:
    text = f"waves: [{{name: all, selector: {{}}}}]\nargocd: {argocd}\n"
    with pytest.raises(UserError):
        load_policy(text.encode(), source="rollout.yaml")


tricky = st.sampled_from(["y", "n", "yes", "no", "on", "off", "true", "null", "1e3", "0o17"])


@settings(max_examples=examples(60), deadline=None)
@given(
    clusters=st.lists(st.one_of(tricky, names), min_size=1, max_size=12, unique=True),
    region=st.one_of(tricky, st.just("")),
)
def test_emitted_yaml_round_trips_whatever_the_names(clusters: list[str], region: str) -> None:
    rollout = synthetic([(n, "w", region) for n in clusters])
    rollout = PinnedPlan(**{**rollout.__dict__, "base": "1234567e" + "1" * 32})
    files = render(rollout, ArgoCDSettings(), Strategy.list)
    elements = argocd_elements(files)
    assert [e["cluster"] for e in elements] == sorted(clusters)
    for element in elements:
        assert all(isinstance(v, str) for v in element.values())
        assert element["revision"] == BASE
    doc = yaml.safe_load(files["wave-w.yaml"])
    assert doc["metadata"]["annotations"]["wave-planner.io/base"] == rollout.base
    assert schema_errors(files) == []


def test_render_is_byte_identical_on_rerun(demo: Planned) -> None:
    first = render(demo.rollout(1), demo.policy.argocd, Strategy.list)
    assert render(demo.rollout(1), demo.policy.argocd, Strategy.list) == first


def test_kustomization_lists_every_application_set(demo: Planned) -> None:
    files = render(demo.rollout(0), demo.policy.argocd, Strategy.list)
    kustomization = yaml.safe_load(files["kustomization.yaml"])
    assert kustomization["resources"] == sorted(p for p in files if p != "kustomization.yaml")
