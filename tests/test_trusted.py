"""`trusted`: a frozen model built unvalidated equals the validated one."""

from __future__ import annotations

from typing import Any

import pytest

from planner.chains import ChainLink
from planner.hierarchy.scopes import Scope
from planner.impact import Reason
from planner.trusted import trusted


def _values() -> dict[str, Any]:
    link = ChainLink(path="clusters/a", kind="kustomization", scope=Scope.CLUSTER)
    return {
        "kind": "layer",
        "summary": "region layer changed",
        "layer": "regions/eu",
        "scope": Scope.REGION,
        "files": ("regions/eu/patch.yaml",),
        "revision": "head",
        "chain": (link,),
    }


def test_trusted_equals_validated() -> None:
    built = trusted(Reason, **_values())
    validated = Reason.model_validate(_values())
    assert built == validated
    assert built.model_dump_json() == validated.model_dump_json()
    assert built.model_fields_set == validated.model_fields_set


def test_trusted_is_what_model_construct_builds() -> None:
    built = trusted(Reason, **_values())
    constructed = Reason.model_construct(**_values())
    assert built.__dict__ == constructed.__dict__
    assert list(built.__dict__) == list(Reason.model_fields)  # in the model's order
    assert repr(built) == repr(constructed)
    for name in ("__pydantic_extra__", "__pydantic_private__", "__pydantic_fields_set__"):
        assert getattr(built, name) == getattr(constructed, name)
    assert hash(trusted(ChainLink, path="a", kind="file", scope=Scope.SHARED, field=None, ref=None))


def test_copies_do_not_touch_the_shared_fields_set() -> None:
    first, second = trusted(Reason, **_values()), trusted(Reason, **_values())
    copied = first.model_copy(update={"summary": "other"})
    assert copied.summary == "other"
    assert first.model_fields_set is second.model_fields_set
    assert copied.model_fields_set is not first.model_fields_set


def test_every_field_must_be_given() -> None:
    values = _values()
    del values["chain"]
    with pytest.raises(AssertionError):
        trusted(Reason, **values)
