"""Reviewing a change by its rendered effect, end to end with kubectl: `plan --precise` in
JSON (diff_groups), Markdown (the PR comment) and HTML; Secrets never leave the renderer."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from tests.testing.fleetrepo import FleetRepo, _commit
from tests.testing.marks import requires_kubectl

pytestmark = requires_kubectl


def _plan(built: FleetRepo, fmt: str) -> str:
    argv = ["plan", "--repo", str(built.path), "--base", built.base, "--head", built.head]
    result = CliRunner().invoke(app, [*argv, "--precise", "--format", fmt])
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.fixture(scope="module")
def render_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One render cache for the module: the JSON and the comment tests plan the same change
    (the first to run renders it, the other reads the same outputs back)."""
    return tmp_path_factory.mktemp("render-cache")


@pytest.fixture
def cache(render_cache: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WAVE_PLANNER_CACHE", str(render_cache))


@pytest.mark.usefixtures("cache")
def test_json_groups_identity_only_differences(fleet: Callable[[str], FleetRepo]) -> None:
    plan = json.loads(_plan(fleet("generator-file"), "json"))
    groups = plan["diff_groups"]
    assert [g["clusters"] for g in groups] == [
        ["prod-eu-west-1", "prod-eu-west-2"],
        ["prod-us-east-1"],
    ]
    first, second = groups
    assert set(first) == {"id", "clusters", "objects", "diff", "placeholders", "regions"}
    assert first["objects"] == [
        {"object": "ConfigMap/kube-system/regional-settings-*", "change": "changed"}
    ]
    assert "-  LOG_RETENTION_DAYS: '30'\n+  LOG_RETENTION_DAYS: '90'\n" in first["diff"]
    assert "${name}" in first["diff"] and first["placeholders"]
    assert "prod-eu-west-1" not in first["diff"]
    assert second["placeholders"] == []
    assert "+      receiver: opsgenie-payments\n" in second["diff"]
    by_cluster = {a["cluster"]: a["diff_group"] for a in plan["affected"]}
    assert by_cluster == {
        "prod-eu-west-1": first["id"],
        "prod-eu-west-2": first["id"],
        "prod-us-east-1": second["id"],
    }


@pytest.mark.usefixtures("cache")
def test_the_comment_shows_the_groups(fleet: Callable[[str], FleetRepo]) -> None:
    comment = _plan(fleet("generator-file"), "markdown")
    assert "#### Rendered changes: 2 distinct effects on 3 cluster(s)" in comment
    assert comment.count("```diff\n") == 2
    assert comment.index("<b>2 clusters</b>") < comment.index("<b>1 cluster</b>")


SECRET = "hunter2-very-secret-value"


@pytest.mark.usefixtures("cache")
def test_secret_values_never_appear_in_any_output(fleet: Callable[[str], FleetRepo]) -> None:
    built = fleet("region-change")
    target = built.path / "clusters" / "prod-eu-west-1" / "kustomization.yaml"
    target.write_text(
        target.read_text()
        + "secretGenerator:\n  - name: db\n    namespace: kube-system\n    literals:\n"
        + f"      - password={SECRET}\n"
    )
    head = _commit(built.path, "Add a secret", "2024-01-04T00:00:00+00:00")
    change = FleetRepo(built.path, built.base, head)
    outputs = {fmt: _plan(change, fmt) for fmt in ("json", "markdown", "html", "table")}
    plan = json.loads(outputs["json"])
    mine = next(g for g in plan["diff_groups"] if "prod-eu-west-1" in g["clusters"])
    assert {"object": "Secret/kube-system/db", "change": "added"} in mine["objects"]
    assert "password: <masked sha256:" in mine["diff"]
    for fmt, text in outputs.items():
        assert SECRET not in text, fmt
        assert "aHVudGVyMi12ZXJ5LXNlY3JldC12YWx1ZQ" not in text, fmt  # nor its base64
