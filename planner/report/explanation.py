"""`explain`: one cluster's story, as an indented tree of references or as JSON."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from planner.impact import Reason

if TYPE_CHECKING:
    from planner.plan import Explanation


def chain_lines(reason: Reason, indent: str = "    ") -> list[str]:
    """The reference chain, one node per line, each under the one that references it."""
    lines = []
    for depth, link in enumerate(reason.chain):
        how = f"{link.field} {link.ref!r} -> " if link.field else ""
        mark = "  <- changed" if depth == len(reason.chain) - 1 else ""
        branch = "" if depth == 0 else "   " * (depth - 1) + "└─ "
        lines.append(f"{indent}{branch}{how}{link.path} [{link.scope.value}]{mark}")
    return lines


def render_explanation(explanation: Explanation, *, as_json: bool) -> str:
    plan = explanation.plan
    name = explanation.cluster
    entry = next((a for a in plan.affected if a.cluster == name), None)
    layers = _layers_read(explanation)
    if as_json:
        data = {
            "cluster": name,
            "affected": entry is not None,
            "wave": entry.wave if entry else explanation.placement.wave,
            "step": entry.step if entry else None,
            "placement": explanation.placement.rule,
            "reasons": [r.model_dump(mode="json") for r in entry.reasons] if entry else [],
            "layers_read": layers,
            "violations": [v.model_dump(mode="json") for v in plan.violations if v.cluster == name],
        }
        return json.dumps(data, indent=2) + "\n"
    if entry is None:
        out = [f"{name} is not affected by {plan.base[:12]}..{plan.head[:12]}"]
        out.append(f"  it reads {len(layers)} layer(s): {', '.join(layers) or '(none)'}")
        changed = [layer.path for layer in plan.changed_layers]
        out.append(
            f"  changed layers: {', '.join(changed) or '(none)'}; none of them is read by {name}"
        )
        out.append(
            f"  its wave would be: {explanation.placement.wave or '(none)'} "
            f"({explanation.placement.rule})"
        )
        return "\n".join(out) + "\n"
    out = [f"{name} is affected: wave {entry.wave}, step {entry.step or '(none)'}"]
    out.append(f"  why this wave: {entry.placement}")
    for reason in entry.reasons:
        out.append(f"  why this cluster: {reason.summary}")
        out.extend(chain_lines(reason))
    for violation in plan.violations:
        if violation.cluster == name:
            out.append(f"  VIOLATION {violation.code}: {violation.message}")
    return "\n".join(out) + "\n"


def _layers_read(explanation: Explanation) -> list[str]:
    if explanation.root is None:
        return []
    graph = explanation.head
    nodes = (graph.node(n) for n in graph.closure(explanation.root))
    return sorted({n.layer or n.path for n in nodes if n.kind.value != "file"})
