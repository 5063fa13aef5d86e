"""Frozen models built from values that are already of their fields' types, unvalidated.

Validation copies every tuple it is given (a reason's files and chain, a cluster's reasons),
and each instance gets a fields set of its own: on a fleet-wide change that is 10,000 copies
of each, and the peak memory of `plan`. `trusted` builds what `model_construct` builds when
every field is given (the fields in the model's order, no extra, no private attributes), the
instances of a model sharing one fields set (pydantic adds to it only on assignment, which a
frozen model refuses; a copy copies it), without model_construct's per-field search for
aliases and defaults: a plan makes tens of thousands of these. Pure.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

M = TypeVar("M", bound=BaseModel)

_FIELDS: dict[type[BaseModel], tuple[tuple[str, ...], set[str]]] = {}
_set = object.__setattr__


def trusted(model: type[M], **values: Any) -> M:
    """`model(**values)` without validation: every field given, each of its type."""
    known = _FIELDS.get(model)
    if known is None:
        known = _FIELDS[model] = _fields(model)
    order, fields = known
    assert values.keys() == fields, f"{model.__name__}: give exactly its fields"
    built = model.__new__(model)
    _set(built, "__dict__", {name: values[name] for name in order})
    _set(built, "__pydantic_fields_set__", fields)
    _set(built, "__pydantic_extra__", None)
    _set(built, "__pydantic_private__", None)
    return built


def _fields(model: type[BaseModel]) -> tuple[tuple[str, ...], set[str]]:
    """The model's field names, once it is known to be one `trusted` can build."""
    assert model.model_config.get("frozen"), f"{model.__name__} is not frozen"
    assert model.model_config.get("extra") != "allow", f"{model.__name__} allows extra"
    assert not model.__pydantic_root_model__ and not model.__pydantic_post_init__
    assert not model.__private_attributes__, f"{model.__name__} has private attributes"
    assert all(f.alias is None and f.validation_alias is None for f in model.model_fields.values())
    return tuple(model.model_fields), set(model.model_fields)
