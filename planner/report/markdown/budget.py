"""The comment's size budget: what is left of GitHub's limit, sections fitted item by item,
and the note that says how many items were left out and where to find them. Pure."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

JSON_COMMAND = "wave-planner plan --format json"

# --------------------------------------------------------------------------- budget


@dataclass
class Budget:
    """What is left of the comment limit, and what had to be left out."""

    left: int
    trimmed: list[str] = field(default_factory=list)

    def share(self, fraction: float) -> int:
        return max(0, int(self.left * fraction))

    def take(self, section: str) -> str:
        if section:
            self.left -= len(section) + 1  # sections are joined by a newline
        return section


def fit(
    head: str, items: Iterable[str], total: int, more: Callable[[int], str], budget: int
) -> tuple[str, int]:
    """`head` + as many of the `total` items as fit in `budget` + `more(left out)`.

    Items are consumed lazily (only those that may be shown are rendered); "" when not even
    `head` and the note fit.
    """
    reserve = len(more(total)) if total else 0
    shown: list[str] = []
    used = len(head)
    tail: list[str] = []  # items that fit only if nothing is left out (no note needed)
    tail_size = 0
    for item in items:
        if not tail and used + len(item) + reserve <= budget:
            shown.append(item)
            used += len(item)
            continue
        tail.append(item)
        tail_size += len(item)
        if used + tail_size > budget:
            break
    else:
        if used + tail_size <= budget:
            return head + "".join(shown + tail), 0
    if used + reserve > budget:
        return "", total
    omitted = total - len(shown)
    return head + "".join(shown) + more(omitted), omitted


def json_note(what: str, prefix: str = "\n", where: str = "") -> Callable[[int], str]:
    """The line that says how many items were left out, and where to find them."""
    where = where or f"in the full plan (`{JSON_COMMAND}`)"

    def note(n: int) -> str:
        return f"{prefix}_…and {n:,} more {what} {where}._\n"

    return note
