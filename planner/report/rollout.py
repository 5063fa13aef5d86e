"""How a rollout is shown: `rollout status` (table, JSON, markdown) and `rollout list`.

A release manager looks for three things: where the rollout stands (each step's state and
release time), what holds the next step (bake with the time left, approval, pause, halt) and
whether the repository still matches the plan (drift, shown first). The JSON is the stable
contract (`{name, state, base, head, steps, history}` plus extra keys); the markdown adds a
Mermaid timeline of the history for a PR or an incident channel. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tabulate import tabulate

from planner.release import model, times
from planner.release.model import Gate, Rollout, StepRecord
from planner.report.table import listing

if TYPE_CHECKING:
    from planner.release.view import RolloutView


def gate_line(gate: Gate) -> str:
    """`next: production-1, held by bake: ... (time left 45m)`."""
    if gate.kind == "done":
        return "next: nothing, every step is released"
    line = f"next: {gate.step}, "
    line += "ready to release" if gate.kind == "open" else f"held by {gate.kind}: {gate.text}"
    if gate.seconds_left is not None:
        line += f" (time left {times.format_duration(gate.seconds_left)})"
    return line


def as_dict(view: RolloutView) -> dict[str, Any]:
    state = view.state
    gate = view.gate
    return {
        "name": state.name,
        "state": model.state_of(state),
        "base": state.base,
        "head": state.head,
        "id": state.id,
        "target": state.target,
        "paused": state.paused,
        "started_at": state.started_at,
        "now": times.format_time(view.now),
        "next": {
            "step": gate.step,
            "gate": gate.kind,
            "text": gate.text,
            "seconds_left": gate.seconds_left,
            "until": gate.until,
        },
        "drift": list(view.drift),
        "steps": [
            {
                "name": s.name,
                "wave": s.wave,
                "clusters": list(s.clusters),
                "state": s.state,
                "released_at": s.released_at,
                "approved_by": s.approved_by,
                "forced_reason": s.forced_reason,
                "rolled_back_at": s.rolled_back_at,
                "bake": s.bake,
                "approval": s.approval,
            }
            for s in state.steps
        ],
        "history": [e.model_dump(mode="json") for e in state.history],
    }


def render_json(view: RolloutView) -> str:
    return json.dumps(as_dict(view), indent=2) + "\n"


def _when(step: StepRecord) -> str:
    if step.state == "rolled-back":
        return f"{step.released_at} (back {step.rolled_back_at})"
    return step.released_at or "-"


def _note(step: StepRecord) -> str:
    notes = []
    if step.approved_by:
        notes.append(f"approved by {step.approved_by}")
    if step.forced_reason:
        notes.append(f"forced: {step.forced_reason}")
    if not notes and step.state == "pending":
        gates = [f"bake {step.bake}"] if step.bake else []
        gates += ["approval"] if step.approval == "required" else []
        notes.append(", ".join(gates))
    return "; ".join(n for n in notes if n) or "-"


def _rows(state: Rollout) -> list[list[str]]:
    return [
        [s.name, listing(list(s.clusters), 4), s.state, _when(s), _note(s)] for s in state.steps
    ]


def headline(view: RolloutView) -> str:
    s = view.state
    return (
        f"rollout {s.name}: {model.state_of(s)} (plan {s.id}, {s.base[:12]}..{s.head[:12]}, "
        f"target {s.target}, started {s.started_at})"
    )


def render_table(view: RolloutView) -> str:
    lines = [f"DRIFT: {change}" for change in view.drift]
    lines.append(headline(view))
    lines.append("")
    table = tabulate(_rows(view.state), headers=["step", "clusters", "state", "released", "notes"])
    lines.append(table)
    lines.append("")
    lines.append(gate_line(view.gate))
    if view.drift:
        lines.append("the repository no longer matches this rollout: advance is refused")
    return "\n".join(lines) + "\n"


_MD_UNSAFE = re.compile(r"[|<>\r\n]")
_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._,()+/@-]")


def _md(text: str) -> str:
    return " ".join(_MD_UNSAFE.sub(" ", text).replace("`", "'").split())


def _mermaid(text: str) -> str:
    return " ".join(_MERMAID_UNSAFE.sub(" ", text).split())


def _mermaid_time(at: str) -> str:
    """Mermaid timeline periods cannot hold `:`: `2024-01-03 09h00`."""
    return at[:10] + " " + at[11:13] + "h" + at[14:16]


def timeline(state: Rollout) -> list[str]:
    lines = ["```mermaid", "timeline", f"    title rollout {_mermaid(state.name)}"]
    for event in state.history:
        what = event.action + (f" {event.step}" if event.step else "")
        lines.append(f"    {_mermaid_time(event.at)} : {_mermaid(f'{what} by {event.actor}')}")
    lines.append("```")
    return lines


def render_markdown(view: RolloutView) -> str:
    state = view.state
    lines = [f"### Rollout `{_md(state.name)}`: {model.state_of(state)}", ""]
    if view.drift:
        lines += ["> [!WARNING]", "> The repository no longer matches this rollout:"]
        lines += [f"> - {_md(c)}" for c in view.drift]
        lines.append("")
    lines += [
        f"Plan `{state.id}`, `{state.base[:12]}..{state.head[:12]}`, target {state.target}, "
        f"started {state.started_at}.",
        "",
        f"**{_md(gate_line(view.gate))}**",
        "",
        "| step | clusters | state | released | notes |",
        "|---|---|---|---|---|",
    ]
    lines += ["| " + " | ".join(_md(cell) for cell in row) + " |" for row in _rows(state)]
    lines += ["", *timeline(state), ""]
    return "\n".join(lines)


def render_list(views: Sequence[RolloutView]) -> str:
    if not views:
        return "no rollouts under waves/\n"
    rows = []
    for view in views:
        s = view.state
        done = sum(1 for step in s.steps if step.state == "released")
        rows.append(
            [
                s.name,
                model.state_of(s),
                f"{done}/{len(s.steps)}",
                s.target,
                f"{s.base[:12]}..{s.head[:12]}",
                gate_line(view.gate).removeprefix("next: "),
            ]
        )
    headers = ["rollout", "state", "released", "target", "change", "next"]
    return tabulate(rows, headers=headers) + "\n"
