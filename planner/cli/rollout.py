"""The `rollout` commands (registered on the main app)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the rollout commands to the app."""
