"""The direct block-YAML writer gives PyYAML's bytes, or declines."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import yamlsafe
from planner.yamlsafe import blocks, dumpers
from tests.testing.examples import examples

KEYS = st.one_of(
    st.from_regex(r"[A-Za-z_/][A-Za-z0-9._/-]{0,20}", fullmatch=True),
    st.sampled_from(["yes", "No", "null", "on", "y", "a:b", "1a", "-x", "k" * 130]),
    st.text(max_size=6),
    st.sampled_from(["k" * 121, "k" * 122, "k" * 123]),  # where PyYAML's simple keys end
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    KEYS,
    st.sampled_from(
        [
            "2024-01-02T10:00:00Z",
            "0123abc",
            "4e0b2b60643a" * 3,
            "",
            " x",
            "a #b",
            "x: y",
            "'q'",
            '"',
            "1e3",
            "0x1F",
            ".inf",
            "~",
            "=",
            "<<",
            "- a",
            "@at",
            "%p",
            "é",
            "a\nb",
        ]
    ),
    st.text(max_size=12),
)
DOCS = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=25,
)


@settings(max_examples=examples(200), deadline=None)
@given(DOCS)
def test_the_same_bytes_as_pyyaml_or_none(doc: Any) -> None:
    fast = blocks.write(doc, blocks.STATE)
    if fast is not None:
        assert fast == dumpers.state_text(doc)


EDGES = ["k" * n for n in (121, 122, 123, 128, 129)]
EDGES += ["yes", "No", "ON", "off", "y", "n", "null", "Null", "~", "true", "False", "", " x"]
EDGES += ["1", "1e3", "0x1F", "0o17", ".inf", "1_000", "1:20", "a:b", "a #b", "- a", "=", "<<"]


@pytest.mark.parametrize("text", EDGES)
def test_the_same_bytes_at_the_edges_of_the_rules(text: str) -> None:
    """Every word, number and key length where a rule changes, as a key and as a value."""
    for doc in ({text: text}, [text], {"a": {text: [text]}}):
        fast = blocks.write(doc, blocks.STATE)
        if fast is not None:
            assert fast == dumpers.state_text(doc), doc


def test_a_rollout_state_is_written_directly() -> None:
    doc = {
        "schema_version": 1,
        "name": "cve-fix",
        "base": "4e0b2b60643a" * 3 + "abcd",
        "started_at": "2024-01-02T10:00:00Z",
        "paused": False,
        "policy": None,
        "membership": [{"wave": "canary", "clusters": ["dev-eu-1", "dev-us-1"]}, {"wave": "x",
                        "clusters": []}],
        "steps": [{"name": "canary", "clusters": ["dev-eu-1"], "bake": "1h", "state": "pending"}],
        "history": [{"at": "2024-01-02T10:00:00Z", "detail": "plan 1234: 3 step(s), target argocd"}],
        "empty": {},
    }  # fmt: skip
    fast = blocks.write(doc, blocks.STATE)
    assert fast is not None
    assert fast == dumpers.state_text(doc)
    assert yamlsafe.dump(doc) == fast


def test_declines_what_it_does_not_decide() -> None:
    docs: list[Any] = [{"é": 1}, {"a": "multi\nline"}, {"a": 1.5}, "scalar", [], {"k" * 200: 1}]
    for doc in docs:
        assert blocks.write(doc, blocks.STATE) is None
        assert yamlsafe.dump(doc) == dumpers.state_text(doc)


MANIFEST_SCALARS = st.one_of(
    st.text(max_size=30),
    st.booleans(),
    st.integers(),
    st.none(),
    st.sampled_from(
        ["a\nb\n", "one\n  two\n\nthree\n", "nel\x85", "\xa0x", "ls\u2028", "a\tb", "\U0001f600"]
    ),
    st.sampled_from(["", "y", "1e3", "4e0b2b60643a" * 3, "key:", "it's", "k" * 140]),
)
MANIFESTS = st.recursive(
    MANIFEST_SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=12), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=examples(200), deadline=None)
@given(st.one_of(st.dictionaries(st.text(max_size=12), MANIFESTS, min_size=1, max_size=5),
                 st.lists(MANIFESTS, min_size=1, max_size=4)))  # fmt: skip
def test_manifests_are_the_bytes_of_the_go_safe_representer(doc: Any) -> None:
    assert blocks.write(doc, blocks.MANIFEST) == dumpers.manifest_text(doc)


def test_the_manifest_dumper_refuses_floats() -> None:
    with pytest.raises(TypeError):
        dumpers.manifest_text({"a": 1.5})
