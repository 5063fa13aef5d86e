"""Frozen models built from values that are already of their fields' types, unvalidated.

Validation copies every tuple it is given (a reason's files and chain, a cluster's reasons),
and each instance gets a fields set of its own: on a fleet-wide change that is 10,000 copies
of each, and the peak memory of `plan`. `trusted` is `model_construct` with every field
given, the instances of a model sharing one fields set (pydantic adds to it only on
assignment, which a frozen model refuses; a copy copies it). Pure.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_FIELDS: dict[type[BaseModel], set[str]] = {}


def trusted(model: type[M], **values: Any) -> M:
    """`model(**values)` without validation: every field given, each of its type."""
    fields = _FIELDS.get(model)
    if fields is None:
        assert model.model_config.get("frozen"), f"{model.__name__} is not frozen"
        fields = _FIELDS[model] = set(model.model_fields)
    assert values.keys() == fields, f"{model.__name__}: give exactly its fields"
    return model.model_construct(fields, **values)
