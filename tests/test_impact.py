"""Impact: affected clusters with reasons, base and head graphs, inventory changes, unowned files."""

from __future__ import annotations

from planner.changes import Change, ChangeSet, ChangeStatus
from planner.hierarchy.build import build_hierarchy
from planner.impact import Impact, compute_impact
from planner.impactconfig import ImpactConfig, UnownedRule
from planner.inventory import Inventory, diff_inventories, parse_inventory
from planner.snapshot import MemorySnapshot

K = "kustomization.yaml"
FILES = {
    f"base/{K}": "resources: [ns.yaml]\n",
    "base/ns.yaml": "kind: Namespace\n",
    f"regions/eu-west/{K}": "resources: [../../base, settings.yaml]\n",
    "regions/eu-west/settings.yaml": "kind: ConfigMap\n",
    f"clusters/eu-1/{K}": "resources: [../../regions/eu-west]\n",
    f"clusters/eu-2/{K}": "resources: [../../regions/eu-west]\n",
    f"clusters/us-1/{K}": "resources: [../../base]\n",
    "README.md": "# fleet\n",
}


def inv(text: str) -> Inventory:
    return parse_inventory({"clusters.yaml": text.encode()}, source="clusters.yaml")


INVENTORY = inv(
    "clusters:\n- name: eu-1\n  labels: {region: eu-west}\n- name: eu-2\n  labels: {region: eu-west}\n"
    "- name: us-1\n  labels: {region: us-east}\n"
)


def impact(
    changes: list[Change],
    head_files: dict[str, str] | None = None,
    base_inventory: Inventory = INVENTORY,
    inventory: Inventory = INVENTORY,
    config: ImpactConfig | None = None,
) -> Impact:
    base = MemorySnapshot({p: t.encode() for p, t in FILES.items()}, "base")
    head_map = dict(FILES)
    head_map.update(head_files or {})
    head = MemorySnapshot({p: t.encode() for p, t in head_map.items() if t}, "head")
    return compute_impact(
        head=build_hierarchy(head, [c.gitops_path for c in inventory.clusters]),
        base=build_hierarchy(base, [c.gitops_path for c in base_inventory.clusters]),
        changes=ChangeSet(changes=tuple(changes)),
        inventory=inventory,
        base_inventory=base_inventory,
        inventory_diff=diff_inventories(base_inventory, inventory),
        config=config or ImpactConfig(),
    )


def modified(path: str) -> Change:
    return Change(path=path, status=ChangeStatus.MODIFIED)


def test_global_change_reaches_every_cluster_with_a_chain() -> None:
    result = impact([modified("base/ns.yaml")])
    assert sorted(result.affected) == ["eu-1", "eu-2", "us-1"]
    reason = result.affected["eu-1"][0]
    assert reason.scope == "global" and reason.layer == "base"
    assert [link.path for link in reason.chain] == [
        f"clusters/eu-1/{K}",
        f"regions/eu-west/{K}",
        f"base/{K}",
        "base/ns.yaml",
    ]
    assert result.changed_layers[0].clusters == 3


def test_region_change_reaches_only_its_clusters() -> None:
    result = impact([modified("regions/eu-west/settings.yaml")])
    assert sorted(result.affected) == ["eu-1", "eu-2"]
    assert result.unaffected == ("us-1",)


def test_deleted_file_affects_who_read_it_at_base() -> None:
    result = impact(
        [
            Change(path="regions/eu-west/settings.yaml", status=ChangeStatus.DELETED),
            modified(f"regions/eu-west/{K}"),
        ],
        head_files={
            "regions/eu-west/settings.yaml": "",
            f"regions/eu-west/{K}": "resources: [../../base]\n",
        },
    )
    assert sorted(result.affected) == ["eu-1", "eu-2"]


def test_reference_added_at_head_only() -> None:
    result = impact(
        [modified(f"clusters/us-1/{K}")],
        head_files={f"clusters/us-1/{K}": "resources: [../../regions/eu-west]\n"},
    )
    assert sorted(result.affected) == ["us-1"]


def test_inventory_changes_are_reasons() -> None:
    head = inv(
        "clusters:\n- name: eu-1\n  labels: {region: us-east}\n- name: eu-2\n  labels: {region: eu-west}\n"
        "- name: new-1\n  path: clusters/us-1\n"
    )
    result = impact([], inventory=head)
    assert sorted(result.affected) == ["eu-1", "new-1"]
    assert result.removed == ("us-1",)
    assert "labels region: eu-west -> us-east" in result.affected["eu-1"][0].summary
    assert result.affected["new-1"][0].summary == "added to the inventory"


def test_unowned_files_are_listed_not_dropped() -> None:
    result = impact(
        [modified("stray.yaml"), modified("README.md")], head_files={"stray.yaml": "a: 1\n"}
    )
    assert result.affected == {}
    assert result.unowned == ("stray.yaml",)
    assert result.ignored == ("README.md",)


def test_unowned_all_clusters_rule() -> None:
    result = impact(
        [modified("stray.yaml")],
        head_files={"stray.yaml": "a: 1\n"},
        config=ImpactConfig(unowned=UnownedRule.ALL_CLUSTERS),
    )
    assert sorted(result.affected) == ["eu-1", "eu-2", "us-1"]
    assert result.affected["us-1"][0].kind == "unowned"


def test_every_cluster_in_exactly_one_of_affected_unaffected() -> None:
    result = impact([modified("regions/eu-west/settings.yaml")])
    assert sorted([*result.affected, *result.unaffected]) == INVENTORY.names()
