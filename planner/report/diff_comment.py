"""The rendered changes in the pull-request comment (precise mode's `diff_groups`).

One collapsed block per group of clusters with the same rendered change, largest group
first: how many clusters, their regions, the objects, the clusters by name, and the unified
diff in a ```diff fence (GitHub highlights it). The section is built against the character
budget the comment gives it (`planner.report.markdown`): a diff too long for its share is
cut at a line with a note, and the groups that do not fit are summarised in one line that
points to the full report. Pure and deterministic.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from planner.report.markdown import code, text

if TYPE_CHECKING:
    from planner.diff_groups import DiffGroup
    from planner.plan import Plan

FULL_REPORT = "wave-planner plan --precise --format html"
MAX_CLUSTERS = 20  # names listed in a group
MAX_OBJECTS = 10  # objects named in a group's summary line
MAX_REGIONS = 6
MIN_DIFF = 400  # below this, a group's diff is not worth showing cut
SHARE_OF_FIRST = 0.5  # the largest group may use at most this share of the section
PLACEHOLDERS = (
    "Placeholders ({used}) stand for each cluster's own values: `${{name}}` its name, "
    "`${{path}}` its GitOps path, `${{server}}` its API server, `${{labels.KEY}}` a label value, "
    "`${{hash}}` the hash suffix of a generated name of its own."
)
_SIGN = {"added": "+", "removed": "-", "changed": "~"}


def _fence(body: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", body)), default=0)
    return "`" * max(3, longest + 1)


def _note(left: int) -> str:
    return f"# … {left:,} more line(s) in the full report ({FULL_REPORT})\n"


def _cut(diff: str, room: int) -> str:
    """The diff cut at a line boundary to fit `room`, with a note of what was left out."""
    if len(diff) <= room:
        return diff
    lines = diff.splitlines(keepends=True)
    budget = room - len(_note(len(lines)))
    kept: list[str] = []
    used = 0
    for line in lines:
        if used + len(line) > budget:
            break
        kept.append(line)
        used += len(line)
    return "".join(kept) + _note(len(lines) - len(kept))


def _summary(group: DiffGroup) -> str:
    n = len(group.clusters)
    where = ""
    if group.regions:
        shown = ", ".join(text(r) for r in group.regions[:MAX_REGIONS])
        more = len(group.regions) - MAX_REGIONS
        where = f" (region{'s' if len(group.regions) > 1 else ''} {shown}"
        where += f" +{more} more)" if more > 0 else ")"
    counts = {k: sum(1 for o in group.objects if o.change == k) for k in _SIGN}
    changes = " ".join(f"{_SIGN[k]}{v}" for k, v in counts.items())
    return (
        f"<b>{n:,} cluster{'s' if n != 1 else ''}</b>{where} · {changes} object(s) · "
        f"group {code(group.id)}"
    )


def _block(group: DiffGroup, room: int) -> str:
    """One group's collapsed block, its diff cut to keep the block within `room`."""
    names = ", ".join(code(c) for c in group.clusters[:MAX_CLUSTERS])
    if len(group.clusters) > MAX_CLUSTERS:
        names += f" +{len(group.clusters) - MAX_CLUSTERS:,} more"
    objects = ", ".join(f"{_SIGN[o.change]}{code(o.object)}" for o in group.objects[:MAX_OBJECTS])
    if len(group.objects) > MAX_OBJECTS:
        objects += f" +{len(group.objects) - MAX_OBJECTS:,} more"
    head = [
        f"<details><summary>{_summary(group)}</summary>",
        "",
        f"**Clusters:** {names}",
        "",
        f"**Objects:** {objects}",
        "",
    ]
    if group.placeholders:
        used = ", ".join(f"`{p}`" for p in group.placeholders)
        head += [PLACEHOLDERS.format(used=used), ""]
    fence = _fence(group.diff)
    start = "\n".join(head) + f"\n{fence}diff\n"
    end = f"{fence}\n</details>\n"
    diff = _cut(group.diff, room - len(start) - len(end))
    return start + diff + end


def _rest(groups: list[DiffGroup]) -> str:
    clusters = sum(len(g.clusters) for g in groups)
    return (
        f"\n_…and {len(groups):,} more group(s) of rendered changes ({clusters:,} cluster(s)) "
        f"in the full report (`{FULL_REPORT}`; in the GitHub action, the "
        "`wave-planner-plan` artifact)._\n"
    )


def render_groups(plan: Plan, room: int) -> tuple[str, int]:
    """The section within `room` characters, and how many groups it left out ("" if none)."""
    groups = list(plan.diff_groups)
    if not groups:
        return "", 0
    changed = sum(len(g.clusters) for g in groups)
    head = (
        f"#### Rendered changes: {len(groups):,} distinct "
        f"effect{'s' if len(groups) != 1 else ''} on {changed:,} cluster(s)\n\n"
    )
    used = len(head)
    blocks: list[str] = []
    for index, group in enumerate(groups):
        rest = groups[index + 1 :]
        reserve = len(_rest(rest)) if rest else 0
        free = room - used - reserve
        share = free if not rest else int(free * SHARE_OF_FIRST) if index == 0 else free
        if index > 0 and rest:
            share = min(share, max(MIN_DIFF * 4, free // min(len(rest) + 1, 4)))
        block = _block(group, share)
        if len(block) > share or share < MIN_DIFF:
            omitted = groups[index:]
            tail = _rest(omitted)
            if used + len(tail) > room:
                return ("", len(groups)) if not blocks else (head + "".join(blocks), len(omitted))
            return head + "".join(blocks) + tail, len(omitted)
        blocks.append(block)
        used += len(block)
    return head + "".join(blocks), 0
