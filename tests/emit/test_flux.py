"""Flux emitter: a pinned GitRepository and a Kustomization per cluster, a path list per wave."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import api
from planner.adapters.demo import build
from planner.emit.flux import PATHS_FORMAT, SyncWriter, render, sync_file
from planner.emit.pinned import MAX_OBJECT_BYTES, Element, PinnedPlan
from planner.errors import UserError
from planner.pins.nesting import Pin, Pins
from planner.policy import FluxSettings
from tests.testing.emitkit import Planned, expected_revisions, flux_pins, planned, schema_errors
from tests.testing.examples import examples

BASE = "a" * 40
HEAD = "b" * 40


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Planned:
    repo = build(tmp_path_factory.mktemp("flux") / "fleet-config")
    return planned(api.PlanRequest(repo=repo.path, base=repo.base, head=repo.head))


def read_paths(data: bytes) -> tuple[list[str], list[list[str]]]:
    """A `.paths` file: (comment lines, rows of tab-separated columns)."""
    lines = data.decode().splitlines()
    return [ln for ln in lines if ln.startswith("#")], [
        ln.split("\t") for ln in lines if not ln.startswith("#")
    ]


def test_demo_matches_golden_files(demo: Planned, golden: Callable[[str, str], None]) -> None:
    for path, data in render(demo.rollout(2), demo.policy.flux).items():
        golden(f"emit/flux-released-2/{path}", data.decode())


@pytest.mark.parametrize("released", [0, 1, 3, "all"])
@pytest.mark.parametrize("kubeconfig", [False, True])
def test_every_cluster_once_pinned_by_the_rule_and_valid(
    demo: Planned, released: int | str, kubeconfig: bool
) -> None:
    files = render(demo.rollout(released), FluxSettings(kubeconfig=kubeconfig))
    assert schema_errors(files) == []
    pins = flux_pins(files)
    expected = expected_revisions(demo.plan, released)
    assert {name: commit for name, (commit, _) in pins.items()} == expected
    assert {name: path for name, (_, path) in pins.items()} == {
        c.name: c.gitops_path for c in demo.inventory.clusters
    }


def test_the_sync_file_of_a_cluster(demo: Planned) -> None:
    settings_ = FluxSettings(
        kubeconfig=True, secret_ref="fleet-git", namespace="fleet", interval="5m", prune=False
    )
    files = render(demo.rollout(1), settings_)
    repo, kustomization = yaml.safe_load_all(files["clusters/prod-us-east-1/sync.yaml"])
    assert repo["apiVersion"] == "source.toolkit.fluxcd.io/v1"
    assert repo["metadata"]["name"] == "prod-us-east-1"
    assert repo["metadata"]["namespace"] == "fleet"
    assert repo["metadata"]["labels"]["wave-planner.io/wave"] == "production"
    assert repo["metadata"]["annotations"]["wave-planner.io/plan-id"] == demo.plan.id
    assert repo["spec"] == {
        "interval": "5m",
        "url": "https://git.example.com/fleet",
        "ref": {"commit": demo.plan.base},
        "secretRef": {"name": "fleet-git"},
    }
    assert kustomization["apiVersion"] == "kustomize.toolkit.fluxcd.io/v1"
    assert kustomization["spec"] == {
        "interval": "5m",
        "path": "clusters/prod-us-east-1",
        "prune": False,
        "sourceRef": {"kind": "GitRepository", "name": "prod-us-east-1"},
        "kubeConfig": {"secretRef": {"name": "prod-us-east-1-kubeconfig"}},
    }


def test_per_wave_path_lists(demo: Planned) -> None:
    files = render(demo.rollout(1), demo.policy.flux)
    assert sorted(p for p in files if p.endswith(".paths")) == [
        "canary.paths",
        "production.paths",
        "staging.paths",
    ]
    comments, rows = read_paths(files["production.paths"])
    assert comments[0] == f"# {PATHS_FORMAT}"
    assert "# wave: production" in comments
    assert rows == [
        ["clusters/prod-eu-west-1", demo.plan.base, "prod-eu-west-1", "production-2"],
        ["clusters/prod-eu-west-2", demo.plan.base, "prod-eu-west-2", "production-2"],
        ["clusters/prod-us-east-1", demo.plan.base, "prod-us-east-1", "production-1"],
    ]
    _, canary = read_paths(files["canary.paths"])
    assert {row[1] for row in canary} == {demo.plan.head}


def test_names_and_files_never_depend_on_the_rollout(demo: Planned) -> None:
    zero = render(demo.rollout(0), demo.policy.flux)
    everything = render(demo.rollout("all"), demo.policy.flux)
    assert sorted(zero) == sorted(everything)
    assert zero["kustomization.yaml"] == everything["kustomization.yaml"]
    resources = yaml.safe_load(zero["kustomization.yaml"])["resources"]
    assert resources == sorted(p for p in zero if p.endswith("/sync.yaml"))


def test_emergency_reason_is_recorded(demo: Planned) -> None:
    rollout = PinnedPlan(**{**demo.rollout(0).__dict__, "emergency": "CVE-2026-1234:\n  patch"})
    files = render(rollout, demo.policy.flux)
    repo, _ = yaml.safe_load_all(files["clusters/dev-us-east-1/sync.yaml"])
    assert repo["metadata"]["annotations"]["wave-planner.io/emergency"] == "CVE-2026-1234:\n  patch"
    comments, _ = read_paths(files["canary.paths"])
    assert "# emergency: CVE-2026-1234: patch" in comments
    assert schema_errors(files) == []


names = st.one_of(
    st.sampled_from(["y", "n", "yes", "off", "null", "true", "1e3", "0o17", "0x1f"]),
    st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,10}[a-z0-9]\Z"),
)


@settings(max_examples=examples(60), deadline=None)
@given(clusters=st.lists(names, min_size=1, max_size=10, unique=True))
def test_emitted_yaml_round_trips_whatever_the_names(clusters: list[str]) -> None:
    elements = [Element(n, "", f"clusters/{n}", BASE, "w", "w") for n in sorted(clusters)]
    rollout = PinnedPlan(
        plan_id="0123456789ab",
        base=BASE,
        head=HEAD,
        emergency=None,
        steps=("w",),
        released=(),
        waves={"w": elements},
        regions={},
        repo_url="ssh://git@git.example.com/fleet.git",
    )
    files = render(rollout, FluxSettings())
    pins = flux_pins(files)
    assert pins == {n: (BASE, f"clusters/{n}") for n in clusters}
    assert schema_errors(files) == []


def test_render_is_byte_identical_on_rerun(demo: Planned) -> None:
    assert render(demo.rollout(1), demo.policy.flux) == render(demo.rollout(1), demo.policy.flux)


values = st.one_of(names, st.text(max_size=8), st.sampled_from(["", "a\nb\n", "x: y", "é"]))


@settings(max_examples=examples(150), deadline=None)
@given(
    element=st.builds(
        Element, values, st.just(""), values, st.sampled_from([BASE, HEAD]), values, values
    ),
    kubeconfig=st.booleans(),
    emergency=st.sampled_from([None, "CVE-1:\n  patch"]),
)
def test_the_fast_sync_writer_writes_the_bytes_of_sync_file(
    element: Element, kubeconfig: bool, emergency: str | None
) -> None:
    """A stencil per shape, filled per cluster: the very bytes of `sync_file`, or its error."""
    pinned = PinnedPlan(
        plan_id="0123456789ab", base=BASE, head=HEAD, emergency=emergency, steps=("w",),
        released=(), waves={"w": [element]}, regions={}, repo_url="https://git.example.com/f",
    )  # fmt: skip
    settings_ = FluxSettings(kubeconfig=kubeconfig, secret_ref="git" if kubeconfig else None)
    assert SyncWriter(pinned, settings_)(element) == sync_file(element, pinned, settings_)


def test_the_fast_sync_writer_checks_sizes_and_writes_patched_clusters_in_full() -> None:
    long = Element("big", "", "clusters/" + "x" * MAX_OBJECT_BYTES, BASE, "w", "w")
    pinned = PinnedPlan(
        plan_id="0123456789ab", base=BASE, head=HEAD, emergency=None, steps=("w",),
        released=(), waves={"w": [long]}, regions={}, repo_url="https://git.example.com/f",
    )  # fmt: skip
    with pytest.raises(UserError, match="Kustomization big would be"):
        SyncWriter(pinned, FluxSettings())(long)
    small = Element("small", "", "clusters/small", BASE, "w", "")
    pin = Pin("kustomize.toolkit.fluxcd.io", "Kustomization", "apps", ({"op": "add"},))
    patched = PinnedPlan(**{**pinned.__dict__, "pins": {("small", BASE): Pins([pin])}})
    data = SyncWriter(patched, FluxSettings())(small)
    assert data == sync_file(small, patched, FluxSettings())
    assert b"patches:" in data
