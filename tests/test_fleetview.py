"""planner.fleetview: one set of pins composed from every rollout; and the emit record."""

from __future__ import annotations

from planner.emitrecord import Record, generated, parse, stale_reasons
from planner.fleetview import compose
from planner.inventory import parse_inventory
from planner.release.model import Inputs, Member, Rollout, StepRecord, StepState

A1, A2, B1, B2 = "1" * 40, "2" * 40, "3" * 40, "4" * 40
INVENTORY = parse_inventory(
    {
        "clusters.yaml": b"""clusters:
  - {name: c1, labels: {environment: dev}, server: https://c1.example.com}
  - {name: c2, labels: {environment: prod}, server: https://c2.example.com}
  - {name: c3, labels: {environment: prod}, server: https://c3.example.com}
"""
    },
    source="clusters.yaml",
)


def rollout(
    name: str,
    base: str,
    head: str,
    steps: dict[str, tuple[str, ...]],
    started: str,
    state: StepState,
) -> Rollout:
    return Rollout(
        name=name,
        id=name,
        base=base,
        head=head,
        target="flux",
        inputs=Inputs(inventory="clusters.yaml"),
        policy_digest="p",
        inventory_digest="i",
        started_at=started,
        membership=(
            Member(wave="dev", clusters=("c1",)),
            Member(wave="prod", clusters=("c2", "c3")),
        ),
        steps=tuple(
            StepRecord(name=step, wave=step, clusters=clusters, state=state)
            for step, clusters in steps.items()
        ),
    )


def revisions(view: object) -> dict[str, str]:
    assert view is not None
    return {e.cluster: e.revision for w in view.waves.values() for e in w}  # type: ignore[attr-defined]


def test_active_rollouts_hold_their_clusters_and_the_rest_run_the_newest_head() -> None:
    old = rollout("old", A1, A2, {"prod": ("c2",)}, "2024-01-01T00:00:00Z", "pending")
    new = rollout("new", B1, B2, {"dev": ("c1",)}, "2024-01-02T00:00:00Z", "released")
    view = compose([new, old], INVENTORY, "flux")
    assert revisions(view) == {"c1": B2, "c2": A1, "c3": B2}
    assert view is not None and view.sources == {"c1": "", "c2": "old", "c3": ""}


def test_a_complete_rollout_folds_and_a_rolled_back_one_stays_on_base() -> None:
    done = rollout("done", A1, A2, {"prod": ("c2",)}, "2024-01-01T00:00:00Z", "released")
    back = rollout("back", B1, B2, {"prod": ("c3",)}, "2024-01-02T00:00:00Z", "rolled-back")
    assert revisions(compose([done, back], INVENTORY, "flux")) == {"c1": B2, "c2": B2, "c3": B1}


def test_a_cluster_added_after_the_newest_rollout_is_kept_on_the_default_head() -> None:
    grown = parse_inventory(
        {
            "clusters.yaml": b"""clusters:
  - {name: c1, labels: {environment: dev}, server: https://c1.example.com}
  - {name: c2, labels: {environment: prod}, server: https://c2.example.com}
  - {name: c3, labels: {environment: prod}, server: https://c3.example.com}
  - {name: c4, labels: {environment: prod}, server: https://c4.example.com}
"""
        },
        source="clusters.yaml",
    )
    active = rollout("a", A1, A2, {"prod": ("c2",)}, "2024-01-01T00:00:00Z", "pending")
    view = compose([active], grown, "flux")
    assert revisions(view) == {"c1": A2, "c2": A1, "c3": A2, "c4": A2}
    assert view is not None and [e.cluster for e in view.waves["unlisted"]] == ["c4"]


def test_no_rollout_of_the_target_no_view() -> None:
    only = rollout("x", A1, A2, {"dev": ("c1",)}, "2024-01-01T00:00:00Z", "pending")
    assert compose([only], INVENTORY, "argocd") is None


def test_the_record_round_trips_and_goes_stale_only_when_an_input_changes() -> None:
    record = Record("argocd", "list", 2, A1, A2, "inv", "pol")
    assert parse(record.dump()) == record
    assert parse(b"{}") is None and parse(b"not json") is None
    same = {"base": A1, "inventory_digest": "inv", "policy_digest": "pol"}
    assert stale_reasons(record, **same, changed_since_head=[]) == []
    assert stale_reasons(record, **{**same, "inventory_digest": "x"}, changed_since_head=[])
    assert stale_reasons(record, **{**same, "base": B1}, changed_since_head=[])
    (moved,) = stale_reasons(record, **same, changed_since_head=["apps/a.yaml"])
    assert "apps/a.yaml" in moved


def test_generated_files_are_not_inputs() -> None:
    assert generated("waves/argocd/wave-canary.yaml", ["waves/argocd"])
    assert generated("waves/cve-1/rollout.yaml", [])
    assert not generated("apps/a.yaml", ["waves/argocd"])
