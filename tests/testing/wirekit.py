"""Plans of small in-memory fleets: base files, head files, the plan (no git)."""

from __future__ import annotations

from collections.abc import Mapping

from planner.changes import Change, ChangeSet, ChangeStatus
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy
from planner.inventory import parse_inventory
from planner.plan import Plan, PlanInputs, plan_change
from planner.policy import default_policy
from planner.snapshot import MemorySnapshot

BASE_SHA = "b" * 40
HEAD_SHA = "h" * 40


def inventory_text(clusters: Mapping[str, str]) -> str:
    """clusters.yaml for `{name: path}` (environment label: the name's first word)."""
    lines = ["clusters:"]
    for name, path in clusters.items():
        env = name.split("-")[0]
        lines.append(f"- name: {name}\n  path: {path}\n  labels: {{environment: {env}}}")
    return "\n".join(lines) + "\n"


def changes_between(base: Mapping[str, str], head: Mapping[str, str]) -> ChangeSet:
    found = []
    for path in sorted(set(base) | set(head)):
        if path not in head:
            found.append(Change(path=path, status=ChangeStatus.DELETED))
        elif path not in base:
            found.append(Change(path=path, status=ChangeStatus.ADDED))
        elif base[path] != head[path]:
            found.append(Change(path=path, status=ChangeStatus.MODIFIED))
    return ChangeSet(changes=tuple(found))


def plan_files(
    base: Mapping[str, str],
    head: Mapping[str, str],
    *,
    strict: bool = False,
    repo_urls: tuple[str, ...] = (),
) -> Plan:
    """The plan of the change base -> head; both hold clusters.yaml."""
    base_snap = MemorySnapshot({p: t.encode() for p, t in base.items()}, BASE_SHA)
    head_snap = MemorySnapshot({p: t.encode() for p, t in head.items()}, HEAD_SHA)
    inventory = parse_inventory({"clusters.yaml": head["clusters.yaml"].encode()}, source="c")
    base_inventory = parse_inventory({"clusters.yaml": base["clusters.yaml"].encode()}, source="c")
    return plan_change(
        PlanInputs(
            head=head_snap,
            base=base_snap,
            changes=changes_between(base, head),
            inventory=inventory,
            base_inventory=base_inventory,
            policy=default_policy(inventory),
            inventory_paths=("clusters.yaml",),
            repo_urls=repo_urls,
            strict=strict,
        )
    )


def graph_of(files: Mapping[str, str], roots: list[str], **kwargs: object) -> Hierarchy:
    snap = MemorySnapshot({p: t.encode() for p, t in files.items()}, "rev")
    return build_hierarchy(snap, roots, **kwargs)  # type: ignore[arg-type]
