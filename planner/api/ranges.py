"""What a reader must be told about the range itself, as plan findings.

- `reversed-range`: `--head` is an ancestor of `--base`: the plan shows the way back (a
  revert of everything in between), which is rarely what was meant.
- `inventory-added`: the inventory file does not exist at base: the inventory is new, so
  its clusters are compared as if they had been listed at base (only what changed in the
  repository affects them), instead of every cluster being "added".
"""

from __future__ import annotations

from planner.adapters.gitrepo import GitRepo
from planner.findings import Finding
from planner.inventory import Inventory

ABSENT_AT_BASE = "(absent at base)"


def reversed_range(
    repo: GitRepo, base: str, head: str, base_rev: str, head_rev: str
) -> list[Finding]:
    """A warning when head is an ancestor of base (the range runs backwards)."""
    if base == head:
        return []
    try:
        backwards = bool(repo.is_ancestor(head, base))
    except Exception:  # a shallow clone may not know: say nothing rather than guess
        return []
    if not backwards:
        return []

    def named(rev: str, sha: str) -> str:
        return sha[:12] if sha.startswith(rev) else f"{rev} ({sha[:12]})"

    return [
        Finding(
            code="reversed-range",
            severity="warning",
            message=f"--head {named(head_rev, head)} is an ancestor of --base "
            f"{named(base_rev, base)}: this plan rolls the fleet back from base to head",
            values={"base": base, "head": head},
            fix="swap --base and --head to plan the change forwards",
        )
    ]


def inventory_added(
    inventory: Inventory, base_inventory: Inventory
) -> tuple[Inventory, list[Finding]]:
    """The base inventory to compare with, and the note when the file is new at head."""
    if not base_inventory.source.endswith(ABSENT_AT_BASE):
        return base_inventory, []
    rel = base_inventory.source.removesuffix(ABSENT_AT_BASE).strip()
    return inventory, [
        Finding(
            code="inventory-added",
            severity="warning",
            message=f"inventory added: {rel} does not exist at base; its "
            f"{len(inventory.clusters)} clusters are compared as if they had been listed "
            "at base (only changes in the repository affect them)",
            file=rel,
        )
    ]
