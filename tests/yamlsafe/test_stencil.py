"""A stencil gives the bytes and JSON sizes of writing each document in full, or declines."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from planner.yamlsafe import dump_manifests, json_size
from planner.yamlsafe.stencil import Stencil, placeholders
from tests.testing.examples import examples

NAMES = ("name", "path")
VALUES = st.one_of(
    st.sampled_from(["", "y", "null", "1e3", "0x1f", "a: b", "- x", "'q'", '"', "é", "{a}"]),
    st.sampled_from(["a\nb\n", "a\nb", " x\n", "tab\there", "\\", "#c", "WpStencil"]),
    st.from_regex(r"[a-z][a-z0-9-]{0,12}", fullmatch=True),
    st.text(max_size=10),
)


def documents(values: dict[str, str]) -> list[dict[str, Any]]:
    """Two documents using the values whole, inside longer strings, in lists, repeated."""
    return [
        {
            "kind": "Thing",
            "metadata": {"name": values["name"], "labels": {"x": values["name"], "n": 3}},
            "spec": {"path": values["path"], "secret": f"{values['name']}-key", "on": True},
        },
        {"kind": "Other", "items": [values["path"], {"ref": f"{{{values['path']}}}"}, None]},
    ]


@settings(max_examples=examples(300), deadline=None)
@given(st.fixed_dictionaries(dict.fromkeys(NAMES, VALUES)))
def test_a_filled_stencil_is_the_documents_written_in_full(values: dict[str, str]) -> None:
    stencil = Stencil.of(documents(placeholders(NAMES)), NAMES)
    assert stencil is not None
    filled = stencil.fill(values)
    docs = documents(values)
    if filled is None:  # a value written as a literal block, or holding the placeholder mark
        assert any("\n" in v or "WpStencil" in v for v in values.values())
        return
    data, sizes = filled
    assert data == dump_manifests(docs)
    assert sizes == tuple(json_size(doc) for doc in docs)


def test_a_placeholder_in_a_key_or_a_colliding_constant_is_declined() -> None:
    marks = placeholders(NAMES)
    assert Stencil.of([{"labels": {marks["name"]: "x"}}], NAMES) is None
    assert Stencil.of([{"a": {"WpStencilSlot0End": 1}}], NAMES) is None
    stencil = Stencil.of([{"a": marks["name"], "b": "WpStencil in a constant"}], NAMES)
    assert stencil is not None
    assert stencil.fill({"name": "x", "path": "p"}) == (
        dump_manifests([{"a": "x", "b": "WpStencil in a constant"}]),
        (json_size({"a": "x", "b": "WpStencil in a constant"}),),
    )
