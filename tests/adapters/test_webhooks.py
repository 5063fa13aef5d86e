"""Webhook notifications against a local HTTP server: every action, in order; a webhook
that is down costs a warning, never the state change."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing import gatefleet

NAME = "regions"


class Hooks:
    def __init__(self) -> None:
        self.received: list[tuple[str, dict[str, Any]]] = []
        hooks = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                hooks.received.append((self.path, json.loads(self.rfile.read(length))))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def events(self, path: str) -> list[dict[str, Any]]:
        return [body for p, body in self.received if p == path]


@pytest.fixture
def hooks() -> Iterator[Hooks]:
    server = Hooks()
    yield server
    server.stop()


def test_every_action_is_posted_in_order(tmp_path: Path, hooks: Hooks) -> None:
    extra = (
        "notify:\n"
        f"- {{webhook: 'http://127.0.0.1:{hooks.port}/json'}}\n"
        f"- {{webhook: 'http://127.0.0.1:{hooks.port}/slack', format: slack}}\n"
    )
    repo, health = gatefleet.build(tmp_path, on_failure="rollback", extra=extra)
    run = gatefleet.runner(repo)
    run("start", "--name", NAME, "--base", "HEAD~1", "--head", "HEAD", "--policy",
        "rollout.yaml", "--by", "robin")  # fmt: skip
    run("advance", NAME, "--by", "robin", minute=5)
    run("advance", NAME, minute=30, code=1)
    run("advance", NAME, minute=70)
    run("advance", NAME, "--approve", "--by", "alice", minute=140)
    (health / "prod-eu-west-1").write_text("bad: crash-looping\n")
    run("advance", NAME, minute=175, code=1)
    (health / "prod-eu-west-1").write_text("ok\n")
    run("advance", NAME, "--approve", "--by", "alice", "--force", "--reason", "fixed", minute=180)
    run("advance", NAME, minute=215)
    events = hooks.events("/json")
    assert [(e["event"], e["step"]) for e in events] == [
        ("start", None),
        ("release", "canary"),
        ("refusal", "staging"),
        ("release", "staging"),
        ("release", "production-1"),
        ("gate-failure", "production-1"),
        ("rollback", "production-1"),
        ("release", "production-1"),
        ("release", "production-2"),
        ("completion", None),
    ]
    first = events[0]
    assert first["rollout"] == NAME
    assert first["by"] == "robin"
    assert len(first["clusters"]) == 9
    assert first["link"].startswith("https://git.example.com/platform/fleet/tree/")
    assert events[1]["clusters"] == ["dev-eu-west-1", "dev-us-east-1"]
    assert "baking" in events[2]["text"]
    assert events[5]["clusters"] == ["prod-eu-west-1"]
    assert "crash-looping" in events[5]["text"]
    assert events[-1]["state"] == "complete"
    slack = hooks.events("/slack")
    assert len(slack) == len(events)
    assert all("text" in body and "blocks" in body for body in slack)
    assert "rollout `regions` step `production-1`: gate-failure" in slack[5]["text"]


def test_a_webhook_that_is_down_is_a_warning_not_a_lost_change(
    tmp_path: Path, hooks: Hooks
) -> None:
    extra = f"notify:\n- {{webhook: 'http://127.0.0.1:{hooks.port}/json'}}\n"
    repo, _ = gatefleet.build(tmp_path, extra=extra)
    run = gatefleet.runner(repo)
    run("start", "--name", NAME, "--base", "HEAD~1", "--head", "HEAD", "--policy", "rollout.yaml")
    hooks.stop()
    result = run("advance", NAME, "--commit", minute=5)
    assert "warning: webhook http://127.0.0.1:" in result.stderr
    assert "event not delivered" in result.stderr
    state = yaml.safe_load((repo.path / "waves" / NAME / "rollout.yaml").read_text())
    assert state["steps"][0]["state"] == "released"
    assert "committed" in result.stdout
    assert [e["event"] for e in hooks.events("/json")] == ["start"]
