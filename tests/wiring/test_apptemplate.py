"""ApplicationSet template syntaxes: fasttemplate and the Go template subset."""

from __future__ import annotations

from typing import Any

import pytest

from planner.wiring.apptemplate import (
    TemplateError,
    render_fast,
    render_go,
    render_value,
    unresolved,
)

FLAT = {"name": "prod-eu", "metadata.labels.region": "eu-west", "path": "apps/a", "path[1]": "a"}
NESTED: dict[str, Any] = {
    "name": "prod-eu",
    "server": "https://prod-eu.example.com",
    "metadata": {"labels": {"region": "eu-west", "team.example.com/owner": "web"}},
    "path": {"path": "apps/a", "basename": "a", "segments": ["apps", "a"]},
    "replicas": 3,
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clusters/{{name}}", "clusters/prod-eu"),
        ("regions/{{ metadata.labels.region }}", "regions/eu-west"),
        ("{{path}}/overlays/{{path[1]}}", "apps/a/overlays/a"),
        ("keep/{{unknown}}", "keep/{{unknown}}"),
    ],
)
def test_fasttemplate(text: str, expected: str) -> None:
    assert render_fast(text, FLAT) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("clusters/{{.name}}", "clusters/prod-eu"),
        ("regions/{{ .metadata.labels.region }}", "regions/eu-west"),
        ("{{.path.path}}/x", "apps/a/x"),
        ('{{index .metadata.labels "team.example.com/owner"}}', "web"),
        ("{{index .path.segments 1}}", "a"),
        ("{{ .name | upper }}", "PROD-EU"),
        ('{{ trimPrefix "prod-" .name }}', "eu"),
        ('{{ .metadata.labels.region | replace "-" "_" }}', "eu_west"),
        ('{{ printf "%s-%s" .name .path.basename }}', "prod-eu-a"),
        ("n={{ .replicas }}", "n=3"),
        ("a  {{- .name -}}  b", "aprod-eub"),
        ('{{ default "x" .path.basename }}', "a"),
    ],
)
def test_go_template(text: str, expected: str) -> None:
    assert render_go(text, NESTED) == expected


@pytest.mark.parametrize(
    "text",
    [
        "{{.metadata.labels.zone}}",  # missing key
        "{{ if .name }}x{{ end }}",
        "{{ $x := .name }}",
        "{{ .name | sha256sum }}",
        "{{ .metadata.labels }}",  # a map printed
        "{{ index .path.segments 9 }}",
    ],
)
def test_go_template_refuses_what_it_cannot_evaluate(text: str) -> None:
    with pytest.raises(TemplateError):
        render_go(text, NESTED)


def test_render_value_walks_nested_values_and_reports_leftovers() -> None:
    value = {"source": {"path": "c/{{name}}", "helm": {"valueFiles": ["{{nope}}.yaml"]}}}
    rendered = render_value(value, FLAT, go=False)
    assert rendered["source"]["path"] == "c/prod-eu"
    assert unresolved(rendered) == "{{nope}}"
    assert unresolved(render_value({"a": "{{name}}"}, FLAT, go=False)) is None
