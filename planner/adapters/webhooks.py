"""Posting rollout events to the policy's webhooks (standard library HTTP, short timeout).

Called only after the state is written: a webhook that is down or slow costs a warning on
stderr, never the state change it reports. Events go out in order, one POST each.
"""

from __future__ import annotations

import sys
import urllib.error
import urllib.request
from collections.abc import Sequence

from planner import notify

TIMEOUT = 5


def post(hooks: Sequence[notify.Webhook], events: Sequence[notify.RolloutEvent]) -> list[str]:
    """Deliver every event to every webhook; the warnings (also printed to stderr)."""
    warnings: list[str] = []
    for url, data in notify.deliveries(hooks, events):
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={"Content-Type": "application/json", "User-Agent": "wave-planner"},
        )
        try:
            with urllib.request.urlopen(request, timeout=TIMEOUT) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            warnings.append(f"warning: webhook {url} answered HTTP {exc.code}; event not delivered")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            warnings.append(f"warning: webhook {url} unreachable ({reason}); event not delivered")
    for warning in warnings:
        print(warning, file=sys.stderr)
    return warnings
