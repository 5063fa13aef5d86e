"""Notifications: one JSON event per rollout action, posted to the policy's webhooks.

The policy's top-level `notify:` lists webhooks (`{webhook: URL, format: json|slack}`).
Every action on a rollout (start, release, refusal, gate failure, rollback, completion)
becomes one `RolloutEvent`; `format: slack` wraps it in a Slack-compatible body (`text` and
`blocks`). Delivery is an adapter's job (`planner.adapters.webhooks`), always after the state
is written: a webhook that is down is a warning, never a lost state change. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

What = Literal["start", "release", "refusal", "gate-failure", "rollback", "completion"]


def _check_url(text: str) -> str:
    if not re.match(r"^https?://[^\s/]+", text):
        raise ValueError(f"{text!r} is not an http(s) URL")
    return text


class Webhook(BaseModel):
    """One webhook: every rollout action is POSTed to it as one JSON event."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    webhook: Annotated[str, AfterValidator(_check_url)] = Field(description="URL to POST to.")
    format: Literal["json", "slack"] = Field(
        default="json", description="`slack`: a Slack-compatible body (text and blocks)."
    )


@dataclass(frozen=True)
class RolloutEvent:
    """What happened to a rollout: the JSON body of a `format: json` webhook."""

    rollout: str
    what: What
    step: str | None
    clusters: tuple[str, ...]
    by: str
    at: str
    text: str
    state: str
    link: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "rollout": self.rollout,
            "event": self.what,
            "step": self.step,
            "clusters": list(self.clusters),
            "by": self.by,
            "at": self.at,
            "text": self.text,
            "state": self.state,
            "link": self.link,
        }


_ICON = {
    "start": ":rocket:",
    "release": ":arrow_forward:",
    "refusal": ":no_entry:",
    "gate-failure": ":rotating_light:",
    "rollback": ":rewind:",
    "completion": ":white_check_mark:",
}


def body(event: RolloutEvent, fmt: str) -> bytes:
    """The bytes POSTed for one event in a webhook's format."""
    if fmt != "slack":
        return json.dumps(event.as_dict(), sort_keys=True).encode()
    where = f" step `{event.step}`" if event.step else ""
    shown = ", ".join(event.clusters[:10]) + (
        f" (+{len(event.clusters) - 10} more)" if len(event.clusters) > 10 else ""
    )
    head = f"{_ICON[event.what]} rollout `{event.rollout}`{where}: {event.what} by {event.by}"
    lines = [head, event.text]
    if shown:
        lines.append(f"clusters: {shown}")
    if event.link:
        lines.append(f"<{event.link}|details>")
    text = "\n".join(lines)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    return json.dumps({"text": text, "blocks": blocks}, sort_keys=True).encode()


def deliveries(hooks: Sequence[Webhook], events: Sequence[RolloutEvent]) -> list[tuple[str, bytes]]:
    """(url, body) for every event to every webhook, events in order."""
    return [(hook.webhook, body(event, hook.format)) for event in events for hook in hooks]


def link(repo_url: str | None, ref: str, rollout: str) -> str | None:
    """A web link to the rollout's folder when the repository has an https URL."""
    if not repo_url or not repo_url.startswith("https://"):
        return None
    web = repo_url.removesuffix("/").removesuffix(".git")
    return f"{web}/tree/{ref}/waves/{rollout}"
