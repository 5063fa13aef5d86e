"""The app-of-apps chart: Argo CD Applications as templates of a chart of this repository."""

from __future__ import annotations

import pytest

from planner.hierarchy.build import build_hierarchy
from planner.snapshot import MemorySnapshot
from tests.testing.wiringkit import base_files, edit, plan_variant

FLEET = "argocd-app-of-apps-chart"
GUESTBOOK_APP = "apps/templates/guestbook.yaml"

CASES: list[tuple[str, dict[str, bytes | None], list[str]]] = [
    (
        "a directory app both charts deploy",
        {
            "guestbook/guestbook-ui-svc.yaml": edit(
                FLEET, "guestbook/guestbook-ui-svc.yaml", "port: 80", "port: 8080"
            )
        },
        ["prod", "staging"],
    ),
    (
        "a kustomize app both charts deploy",
        {
            "kustomize-guestbook/kustomization.yaml": b"namePrefix: k-\nresources:\n- guestbook-ui-deployment.yaml\n"
        },
        ["prod", "staging"],
    ),
    (
        "the chart only production deploys",
        {"helm-guestbook/values.yaml": b"replicaCount: 2\n"},
        ["prod"],
    ),
    (
        "an Application template of the production chart",
        {GUESTBOOK_APP: edit(FLEET, GUESTBOOK_APP, "namespace: guestbook", "namespace: gb")},
        ["prod"],
    ),
    (
        "the chart values that fill every template",
        {"apps-staging/values.yaml": edit(FLEET, "apps-staging/values.yaml", "HEAD", "main")},
        ["staging"],
    ),
]


@pytest.mark.parametrize(("what", "edits", "expected"), CASES, ids=[c[0] for c in CASES])
def test_app_of_apps_chart_change_reaches_exactly(
    what: str, edits: dict[str, bytes | None], expected: list[str]
) -> None:
    plan = plan_variant(FLEET, edits)
    assert sorted(plan.affected_names()) == expected, what
    assert not plan.violations, [v.message for v in plan.violations]


def test_template_path_change_follows_the_new_folder() -> None:
    files = base_files(FLEET)
    moved = edit(
        FLEET,
        "apps-staging/templates/guestbook.yaml",
        "path: guestbook",
        "path: kustomize-guestbook",
    )
    plan = plan_variant(FLEET, {"apps-staging/templates/guestbook.yaml": moved})
    assert plan.affected_names() == ["staging"]
    graph = build_hierarchy(
        MemorySnapshot({**files, "apps-staging/templates/guestbook.yaml": moved}), ["apps-staging"]
    )
    assert "guestbook/" not in graph.closure("apps-staging/")


def test_a_template_it_cannot_fill_is_unmodelled() -> None:
    files = base_files(FLEET)
    files["apps/templates/many.yaml"] = (
        b"{{- range .Values.applications }}\napiVersion: argoproj.io/v1alpha1\nkind: Application\n"
        b"metadata:\n  name: {{ .name }}\nspec:\n  source:\n    path: {{ .name }}\n---\n{{ end -}}\n"
    )
    graph = build_hierarchy(MemorySnapshot(files), ["apps"])
    (note,) = graph.unmodelled()
    assert (note.code, note.tag, note.file) == ("unmodelled-wiring", "Helm chart apps", "apps/")
    assert note.reason.startswith("apps/templates/many.yaml:") and "range" in note.reason
