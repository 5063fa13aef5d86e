"""Shell completion of cluster and rollout names (`wave-planner --install-completion`).

Completion runs on every TAB: it reads only what it needs (the inventory's names, the
folders under waves/), never git, and never fails: a problem means no suggestions.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from planner.cli.options import ENV_INVENTORY, ENV_REPO


def _param(ctx: Any, name: str, env: str) -> str | None:
    value = getattr(ctx, "params", {}).get(name) if ctx is not None else None
    return str(value) if value else os.environ.get(env)


def cluster_names(ctx: Any, incomplete: str) -> list[str]:
    """The inventory's cluster names starting with what was typed."""
    try:
        repo = Path(_param(ctx, "repo", ENV_REPO) or ".")
        given = _param(ctx, "inventory", ENV_INVENTORY)
        path = Path(given) if given else repo / "clusters.yaml"
        if not path.is_absolute() and not path.exists():
            path = repo / path
        from planner.adapters import files
        from planner.inventory import parse_inventory

        inventory = parse_inventory(files.read_yaml_inputs(path, "--inventory"), source=str(path))
        return [n for n in inventory.names() if n.startswith(incomplete)]
    except Exception:
        return []


def rollout_names(ctx: Any, incomplete: str) -> list[str]:
    """The rollouts under waves/ starting with what was typed."""
    try:
        from planner.adapters import rolloutrepo

        repo = Path(_param(ctx, "repo", ENV_REPO) or ".")
        return [n for n in rolloutrepo.names(repo) if n.startswith(incomplete)]
    except Exception:
        return []
