"""The configuration of every request model of the api: frozen, no unknown field, any type
(a renderer, a clock, a callback) allowed, and its validator built on first use (a command
builds one request; importing a module declares several). A module of its own so that the
rollout commands need not import the planner's inputs to declare their requests."""

from __future__ import annotations

from pydantic import ConfigDict

REQUEST = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True, defer_build=True)
