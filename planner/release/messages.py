"""The state file's bytes (`rollout.yaml`: dump and load) and the commit message of each
thing that happens to a rollout."""

from __future__ import annotations

from collections.abc import Sequence

from planner.errors import UserError, validate_model
from planner.release import statetext
from planner.release.model import Rollout

STATE_HEADER = "# wave-planner rollout state: change it only with `wave-planner rollout ...`\n"


def dump_state(state: Rollout) -> bytes:
    """`rollout.yaml`: deterministic block YAML (same state, same bytes)."""
    from planner import yamlsafe

    return (STATE_HEADER + yamlsafe.dump(state.model_dump(mode="json"))).encode()


def load_state(data: bytes, *, source: str) -> Rollout:
    """Parse `rollout.yaml`, reporting every problem as a UserError naming the file (the text
    `dump_state` writes is read by `statetext`, any other by the full YAML loader)."""
    doc = statetext.read(data)
    if doc is None:
        from planner import yamlsafe

        try:
            doc = yamlsafe.load_one(data, strict=True)
        except yamlsafe.YamlError as exc:
            raise UserError.single(str(exc), file=source) from None
    if not isinstance(doc, dict):
        raise UserError.single("expected a mapping (a rollout state)", file=source)
    return validate_model(Rollout, doc, file=source)


def commit_message(state: Rollout) -> str:
    """A descriptive commit message for the last thing that happened to the rollout."""
    event = state.history[-1]
    step = state.step(event.step) if event.step else None
    if event.action == "advance" and step is not None:
        subject = (
            f"rollout {state.name}: release {step.name} ({_count(step.clusters)}) "
            f"to {state.head[:12]}"
        )
    elif event.action == "rollback":
        back = [s.name for s in state.steps if s.rolled_back_at == event.at]
        subject = f"rollout {state.name}: roll back {', '.join(back)} to {state.base[:12]}"
    elif event.action == "gate":
        verdict = event.detail.split(": ")
        what = "passed" if verdict[0] == "passed" else ": ".join(verdict[:2])
        subject = f"rollout {state.name}: gates of {event.step} {what}"
    elif event.action == "start":
        subject = f"rollout {state.name}: start ({len(state.steps)} steps, nothing released)"
    else:
        subject = f"rollout {state.name}: {event.action}"
    lines = [subject, "", event.detail] if event.detail else [subject, ""]
    if step is not None and event.action == "advance":
        lines.append(f"Clusters: {', '.join(step.clusters)}")
        if step.approved_by:
            lines.append(f"Approved-by: {step.approved_by}")
        if step.forced_reason:
            lines.append(f"Forced: {step.forced_reason}")
    lines += [
        f"Rollout: {state.name} (plan {state.id}, {state.base[:12]}..{state.head[:12]})",
        f"Actor: {event.actor}",
        f"At: {event.at}",
    ]
    return "\n".join(line for i, line in enumerate(lines) if line or i == 1) + "\n"


def _count(clusters: Sequence[str]) -> str:
    return f"{len(clusters)} cluster" + ("" if len(clusters) == 1 else "s")
