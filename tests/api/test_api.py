"""The api seam: each name exported once, lazily, and every entry point one request model in."""

from __future__ import annotations

import importlib
import inspect
import subprocess
import sys

import pytest
from pydantic import BaseModel, ValidationError

from planner import api
from planner.api.request import REQUEST

MODULES = [f"planner.api.{m}" for m in api._MODULES]


def test_the_export_table_is_each_modules_all_read_without_importing_it() -> None:
    seen: dict[str, str] = {}
    for module in MODULES:
        names = importlib.import_module(module).__all__
        assert api._exports(module.rsplit(".", 1)[1]) == list(names)
        for name in names:
            assert name not in seen, f"{name} is exported by {seen[name]} and {module}"
            seen[name] = module
            assert getattr(api, name) is getattr(importlib.import_module(module), name)
    assert dir(api) == sorted(seen)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = api.nothing


def test_a_rollout_command_does_not_import_the_planner() -> None:
    code = (
        "import sys; from planner import api; api.rollout_status; api.RolloutStatusRequest; "
        "print(sorted(m for m in sys.modules if m in ('planner.plan', 'planner.api.inputs')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def _entry_points() -> list[tuple[str, object]]:
    found: list[tuple[str, object]] = []
    for module in MODULES:
        loaded = importlib.import_module(module)
        for name in loaded.__all__:
            value = getattr(loaded, name)
            if inspect.isfunction(value) and value.__module__ == module:
                found.append((name, value))
    return found


@pytest.mark.parametrize(("name", "function"), _entry_points())
def test_every_entry_point_takes_one_frozen_request_model(name: str, function: object) -> None:
    assert callable(function)
    parameters = list(inspect.signature(function, eval_str=True).parameters.values())
    assert len(parameters) == 1, name
    request = parameters[0].annotation
    assert issubclass(request, BaseModel), name
    assert request.__name__.endswith("Request"), name
    for key, value in REQUEST.items():
        assert request.model_config.get(key) == value, (name, key)


def test_a_request_refuses_an_unknown_field_and_a_change() -> None:
    with pytest.raises(ValidationError, match="extra"):
        api.RolloutStatusRequest(name="bump", nmae="typo")
    request = api.RolloutStatusRequest(name="bump")
    with pytest.raises(ValidationError, match="frozen"):
        request.name = "other"


def test_the_shared_request_of_a_change_is_declared_without_the_planner() -> None:
    """`Sources` (what plan, explain and emit requests share) and the default inventory's
    name load no planner module: the functions that read the inputs import it."""
    code = (
        "import sys\n"
        "from planner.api.inputs import DEFAULT_INVENTORY, Sources\n"
        "Sources(repo='.', base='main')\n"
        "print(sorted(m for m in sys.modules if m.startswith(('planner.', 'yaml', 'git'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert (
        out.stdout.strip()
        == "['planner.api', 'planner.api.inputs', 'planner.api.request', 'planner.errors']"
    )
