"""Helpers shared by the emitter tests: schema validation, plans from real repositories,
reading emitted manifests back, and the pinning rule stated independently of the code."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import yaml

from planner import api
from planner.api.inputs import open_workspace
from planner.emit.pinned import PinnedPlan, prepare
from planner.inventory import Inventory
from planner.plan import Plan, plan_change
from planner.policy import RolloutPolicy

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas" / "validate.py"
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _load_validator() -> Callable[..., list[str]]:
    spec = importlib.util.spec_from_file_location("crd_validate", SCHEMAS)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return cast(Callable[..., list[str]], module.validate_documents)


validate_documents = _load_validator()


def yaml_files(files: Mapping[str, bytes]) -> dict[str, list[Any]]:
    """Every emitted .yaml file, parsed."""
    return {
        path: [d for d in yaml.load_all(data, Loader=_LOADER) if d is not None]
        for path, data in files.items()
        if path.endswith(".yaml")
    }


def schema_errors(files: Mapping[str, bytes]) -> list[str]:
    """Every problem `validate.py --strict` finds in the emitted YAML files."""
    errors: list[str] = []
    for path, docs in yaml_files(files).items():
        found = validate_documents(docs, filename=Path(path).name, strict=True)
        errors.extend(f"{path}: {e}" for e in found)
    return errors


@dataclass
class Planned:
    """A plan and what the emitters need, from a real repository."""

    plan: Plan
    inventory: Inventory
    policy: RolloutPolicy

    def rollout(
        self, released: int | str, url: str = "https://git.example.com/fleet"
    ) -> PinnedPlan:
        return prepare(self.plan, self.inventory, self.policy.labels, released, url)


def planned(sources: api.PlanRequest) -> Planned:
    workspace = open_workspace(sources)
    try:
        plan = plan_change(workspace.inputs)
        return Planned(plan, workspace.inputs.inventory, workspace.inputs.policy)
    finally:
        workspace.close()


def expected_revisions(plan: Plan, released: int | str) -> dict[str, str]:
    """The pinning rule, stated from the issue: released steps' clusters and unaffected
    clusters run head; affected clusters of later steps stay on base."""
    steps = [s.name for s in plan.waves]
    count = len(steps) if released == "all" else int(released)
    done = set(steps[:count])
    out = {}
    for member in plan.membership:
        for name in member.clusters:
            out[name] = plan.head
    for step in plan.waves:
        for name in step.clusters:
            out[name] = plan.head if step.name in done else plan.base
    return out


def argocd_elements(files: Mapping[str, bytes]) -> list[dict[str, Any]]:
    """Every list-generator element of every emitted ApplicationSet."""
    elements: list[dict[str, Any]] = []
    for docs in yaml_files(files).values():
        for doc in docs:
            if doc.get("kind") == "ApplicationSet":
                for generator in doc["spec"]["generators"]:
                    elements.extend(generator["list"]["elements"])
    return elements


def flux_pins(files: Mapping[str, bytes]) -> dict[str, tuple[str, str]]:
    """cluster -> (commit of its GitRepository, path of its Kustomization); each seen once."""
    repos: dict[str, str] = {}
    paths: dict[str, str] = {}
    for docs in yaml_files(files).values():
        for doc in docs:
            name = str(doc.get("metadata", {}).get("name"))
            if doc.get("kind") == "GitRepository":
                assert name not in repos, f"GitRepository {name} emitted twice"
                repos[name] = doc["spec"]["ref"]["commit"]
            elif doc.get("apiVersion") == "kustomize.toolkit.fluxcd.io/v1":
                assert name not in paths, f"Kustomization {name} emitted twice"
                assert doc["spec"]["sourceRef"] == {"kind": "GitRepository", "name": name}
                paths[name] = doc["spec"]["path"]
    assert set(repos) == set(paths)
    return {name: (repos[name], paths[name]) for name in repos}
