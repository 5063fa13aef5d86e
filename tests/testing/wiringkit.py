"""Variations of a fixture fleet, planned in memory: one base tree, many small changes.

`plan_variant("argocd-appset-generators", {"path": b"new text", "gone.yaml": None})` reads
the fixture's `base/` tree, applies the edits (None deletes), and plans the change with the
default policy. Used by table-driven tests of per-cluster wiring; the fixture's own change
is still planned through a real git repository by test_scenarios.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from planner.changes import Change, ChangeSet, ChangeStatus
from planner.inventory import parse_inventory
from planner.plan import Plan, PlanInputs, plan_change
from planner.policy import default_policy
from planner.snapshot import MemorySnapshot
from tests.testing.fleetrepo import SCENARIOS_DIR


def base_files(name: str) -> dict[str, bytes]:
    root = SCENARIOS_DIR / name / "base"
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def plan_files(
    before: Mapping[str, bytes], after: Mapping[str, bytes], *, inventory: str = "clusters.yaml"
) -> Plan:
    changes = []
    for path in sorted(set(before) | set(after)):
        if path not in after:
            changes.append(Change(path=path, status=ChangeStatus.DELETED))
        elif path not in before:
            changes.append(Change(path=path, status=ChangeStatus.ADDED))
        elif before[path] != after[path]:
            changes.append(Change(path=path, status=ChangeStatus.MODIFIED))
    head_inv = parse_inventory({inventory: after[inventory]}, source=inventory)
    base_inv = parse_inventory({inventory: before[inventory]}, source=inventory)
    return plan_change(
        PlanInputs(
            head=MemorySnapshot(after, revision="b" * 40),
            base=MemorySnapshot(before, revision="a" * 40),
            changes=ChangeSet(changes=tuple(changes)),
            inventory=head_inv,
            base_inventory=base_inv,
            policy=default_policy(head_inv),
            inventory_paths=(inventory,),
        )
    )


def plan_variant(name: str, edits: Mapping[str, bytes | None]) -> Plan:
    before = base_files(name)
    after = dict(before)
    for path, data in edits.items():
        if data is None:
            after.pop(path, None)
        else:
            after[path] = data
    return plan_files(before, after)


def edit(name: str, path: str, old: str, new: str) -> bytes:
    """The fixture's base file with one text replaced (the text must be there)."""
    text = (SCENARIOS_DIR / name / "base" / path).read_text()
    assert old in text, f"{old!r} not in {path}"
    return text.replace(old, new).encode()


def fixture_path(name: str) -> Path:
    return SCENARIOS_DIR / name
