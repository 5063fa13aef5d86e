"""JSON Schemas of the formats users write or read, generated from the models."""

from __future__ import annotations

import json
from typing import Any

from planner.inventory import InventoryFile
from planner.plan import Plan
from planner.policy import RolloutPolicy

MODELS: dict[str, Any] = {"inventory": InventoryFile, "policy": RolloutPolicy, "plan": Plan}


SCHEMA_BASE = "https://wave-planner.io/schemas"


def schema_url(name: str) -> str:
    """Where the schema of a format is published (its `$id`)."""
    return f"{SCHEMA_BASE}/{name}.json"


def modeline(name: str) -> str:
    """The first line of a file the tool writes: editors fetch the schema from it."""
    return f"# yaml-language-server: $schema={schema_url(name)}"


def schema(name: str) -> dict[str, Any]:
    model = MODELS[name]
    data: dict[str, Any] = model.model_json_schema(
        by_alias=True, mode="validation" if name != "plan" else "serialization"
    )
    data["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    data["$id"] = schema_url(name)
    return data


def render(name: str) -> str:
    return json.dumps(schema(name), indent=2, sort_keys=True) + "\n"
