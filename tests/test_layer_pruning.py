"""Layer pruning: proven on the fixture fleets against full renders (kubectl), and the
graph walk that decides which clusters a proven layer spares."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import yaml

from planner import api, layer_pruning
from planner.adapters.renderer import KustomizeRenderer, RenderCache
from planner.analysis import analyse
from planner.changes import Change, ChangeSet, ChangeStatus
from planner.inventory import parse_inventory
from planner.plan import Plan, PlanInputs
from planner.policy import default_policy
from planner.snapshot import MemorySnapshot
from tests.testing.fleetrepo import FleetRepo, _commit
from tests.testing.marks import requires_kubectl

# ------------------------------------------------------------ pure: the graph walk

_FLEET = {
    "clusters/a/kustomization.yaml": b"resources: [../../region]\n",
    "clusters/b/kustomization.yaml": b"resources: [../../region]\ncomponents: [../../comp]\n",
    "clusters/c/kustomization.yaml": b"resources: [../../region, ../../region/cm.yaml]\n",
    "region/kustomization.yaml": b"resources: [cm.yaml]\n",
    "region/cm.yaml": b"kind: ConfigMap\n",
    "comp/kustomization.yaml": b"kind: Component\n",
}


def _inputs(base: dict[str, bytes], head: dict[str, bytes], changed: list[str]) -> PlanInputs:
    text = b"clusters:\n" + b"".join(
        b"  - {name: %s, labels: {environment: production}}\n" % n for n in (b"a", b"b", b"c")
    )
    inventory = parse_inventory({"clusters.yaml": text}, source="clusters.yaml")
    return PlanInputs(
        head=MemorySnapshot(head, revision="h" * 40),
        base=MemorySnapshot(base, revision="b" * 40),
        changes=ChangeSet(
            changes=tuple(Change(path=p, status=ChangeStatus.MODIFIED) for p in changed)
        ),
        inventory=inventory,
        base_inventory=inventory,
        policy=default_policy(inventory),
    )


def test_a_proven_layer_spares_the_clusters_that_read_it_only_through_resources() -> None:
    head = {**_FLEET, "region/cm.yaml": b"kind: ConfigMap # comment\n"}
    inputs = _inputs(_FLEET, head, ["region/cm.yaml"])
    traced = analyse(inputs)
    graph = traced.head
    touched = layer_pruning.touched_nodes(graph, ["region/cm.yaml"])
    assert layer_pruning.candidate_layers(graph, touched) == ["region/"]
    roots = {n: graph.root_of(f"clusters/{n}") for n in ("a", "b", "c")}
    spared = layer_pruning.pruned_clusters(graph, roots, touched, {"region/"}, ["a", "b", "c"])
    assert spared == ["a", "b"]  # c reads cm.yaml directly too: it must be rendered
    assert layer_pruning.pruned_clusters(graph, roots, touched, set(), ["a", "b", "c"]) == []


def test_a_layer_reached_as_a_component_is_never_opaque() -> None:
    head = {**_FLEET, "comp/kustomization.yaml": b"kind: Component # comment\n"}
    inputs = _inputs(_FLEET, head, ["comp/kustomization.yaml"])
    graph = analyse(inputs).head
    touched = layer_pruning.touched_nodes(graph, ["comp/kustomization.yaml"])
    roots = {"b": graph.root_of("clusters/b")}
    assert layer_pruning.pruned_clusters(graph, roots, touched, {"comp/"}, ["b"]) == []


# ------------------------------------------------- against full renders (kubectl)


@pytest.fixture
def renders(render_cache: Path) -> RenderCache:
    """The run's render cache (tests/conftest.py): renders are keyed by content (the blob
    ids of the files a unit reads), so a unit two tests render is rendered once, and a hit
    is the same output kubectl gave. The counts below are of units asked for, hits
    included, so they do not depend on what the cache holds."""
    return RenderCache(render_cache)


def _plan(built: FleetRepo, cache: RenderCache, *, prune: bool) -> tuple[Plan, int]:
    """The plan, and how many units it asked to render (hits included: cache-independent)."""
    renderer = KustomizeRenderer(default_policy().render, cache=cache)
    plan = api.plan(
        api.PlanRequest(
            repo=built.path,
            base=built.base,
            head=built.head,
            precise=True,
            renderer=renderer,
            prune=prune,
        )
    )
    return plan, renderer.total


def _cosmetic(built: FleetRepo) -> FleetRepo:
    """A commit on top of head that reformats every shared kustomization: a comment, keys
    re-ordered, lists in flow style. Nothing a cluster deploys changes."""
    for path in sorted(built.path.rglob("kustomization.yaml")):
        relative = path.relative_to(built.path).as_posix()
        if relative.startswith("clusters/"):
            continue
        doc = yaml.safe_load(path.read_text())
        text = yaml.safe_dump(doc, sort_keys=True, default_flow_style=True, width=60)
        path.write_text("# reformatted: nothing changes\n" + text)
    head = _commit(built.path, "Reformat the shared layers", "2024-01-05T00:00:00+00:00")
    return FleetRepo(built.path, built.head, head)


FLEETS = ["base-change", "component", "flux-fleet", "realistic-argo-apps"]


@requires_kubectl
@pytest.mark.parametrize("name", FLEETS)
def test_pruned_plan_equals_the_full_render(
    name: str, fleet: Callable[[str], FleetRepo], renders: RenderCache
) -> None:
    built = fleet(name)
    full, _ = _plan(built, renders, prune=False)
    pruned, _ = _plan(built, renders, prune=True)
    assert pruned == full

    cosmetic = _cosmetic(built)
    full, _ = _plan(cosmetic, renders, prune=False)
    pruned, _ = _plan(cosmetic, renders, prune=True)
    assert pruned == full
    assert full.affected == ()


@requires_kubectl
def test_a_reformatted_base_renders_two_units_instead_of_every_cluster(
    fleet: Callable[[str], FleetRepo], renders: RenderCache
) -> None:
    built = fleet("base-change")
    target = built.path / "base" / "kustomization.yaml"
    doc = yaml.safe_load(target.read_text())
    target.write_text("# the layers every cluster inherits\n" + yaml.safe_dump(doc, sort_keys=True))
    head = _commit(built.path, "Reformat the base", "2024-01-03T00:00:00+00:00")
    cosmetic = FleetRepo(built.path, built.head, head)
    full, full_runs = _plan(cosmetic, renders, prune=False)
    pruned, pruned_runs = _plan(cosmetic, renders, prune=True)
    assert pruned == full
    assert len(pruned.traced_unchanged) == pruned.summary.clusters_total == 5
    assert pruned_runs == 2  # base/ at both revisions
    assert full_runs >= 2 * 5
