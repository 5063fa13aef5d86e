"""Published JSON Schemas match the models, and describe what users write."""

from __future__ import annotations

import json

import pytest

from planner import schemas
from tests.testing.paths import ROOT

DOCS = ROOT / "docs" / "schemas"


@pytest.mark.parametrize("name", sorted(schemas.MODELS))
def test_published_schema_is_current(name: str) -> None:
    published = DOCS / f"{name}.schema.json"
    assert published.read_text() == schemas.render(name), "run `nox -s docs`"


def test_policy_schema_rejects_unknown_keys() -> None:
    data = schemas.schema("policy")
    assert data["additionalProperties"] is False
    assert "waves" in data["required"]


def test_inventory_schema_names_cluster_fields() -> None:
    cluster = schemas.schema("inventory")["$defs"]["Cluster"]
    assert set(cluster["properties"]) == {"name", "labels", "server", "path"}
    assert json.dumps(cluster)
