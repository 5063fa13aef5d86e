"""The state file's fast reader gives the full YAML loader's value, or declines."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import yamlsafe
from planner.release import messages, statetext, transitions
from planner.release.model import Rollout
from tests.testing.examples import examples
from tests.testing.rolloutstate import at, fresh, ok


def full(data: bytes) -> Any:
    """The full loader's value, or the YamlError it raises."""
    try:
        return yamlsafe.load_one(data, strict=True)
    except yamlsafe.YamlError as exc:
        return exc


def agrees(data: bytes) -> Any:
    """The fast reader declines, or gives exactly what the full loader gives."""
    fast = statetext.read(data)
    if fast is not None:
        expected = full(data)
        assert not isinstance(expected, Exception), (data, expected)
        assert fast == expected, data
        assert [type(v) for v in fast.values()] == [type(v) for v in expected.values()]
    return fast


def states() -> list[Rollout]:
    """A rollout through every kind of event: released, gated, forced, paused, rolled back."""
    state = fresh()
    seen = [state]
    state = ok(transitions.advance(state, at(1), "rm"))
    seen.append(state)
    state = ok(transitions.advance(state, at(70), "r'm: #1", force=True, reason="it's: fine"))
    seen.append(state)
    state = ok(transitions.pause(state, at(80), "rm"))
    state = ok(transitions.resume(state, at(81), "rm"))
    state = ok(transitions.rollback(state, at(90), "rm", step="staging"))
    seen.append(state)
    state = ok(transitions.rollback(state, at(91), "yes"))
    seen.append(state.model_copy(update={"paused": True}))
    return seen


@pytest.mark.parametrize("index", range(5))
def test_every_state_the_writer_writes_is_read_fast_and_the_same(index: int) -> None:
    state = states()[index]
    data = messages.dump_state(state)
    fast = agrees(data)
    assert fast is not None, "the writer's own layout is read fast"
    assert messages.load_state(data, source="rollout.yaml") == state


def test_a_fleet_sized_state_is_read_fast() -> None:
    state = fresh()
    clusters = (*(f"c{i:05d}" for i in range(3000)), "yes", "No", "2024", "a b")
    membership = (state.membership[0].model_copy(update={"clusters": clusters}),)
    data = messages.dump_state(state.model_copy(update={"membership": membership}))
    assert agrees(data) is not None


PLAIN = st.from_regex(r"[A-Za-z_/][A-Za-z0-9._/-]{0,8}", fullmatch=True)
ASCII = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=10)
ODD_KEYS = st.one_of(
    st.sampled_from(["yes", "No", "null", "on", "y", "a:b", "1a", "-x", "a b", "k" * 1100]),
    ASCII,
)
TRICKY = [
    "2024-01-02T10:00:00Z", "0123abc", "4e0b2b60643a" * 3, "", " x", "x ", "a #b", "x: y",
    "'q'", "it's", '"', "1e3", "0x1F", "0o17", "1:20", ".inf", ".NaN", "~", "=", "<<", "- a",
    "@at", "%p", "&a", "*a", "!x", "|", ">", "[a]", "{a: 1}", "[]", "{}", "YES", "Off", "n", "N",
    "7949bed099ce", "0b1010", "0b1ab", "0x1a", "1e5", "1e+5", "1.5e3", "1_000", "007", "0", "10",
    "-1", "+1", "1a", "1f.", "a''b", "''", "' x '", "True", "NULL", "false", "null", "1h",
    "2h30m", "0b1", "0o7", "1:2", "Release Manager", "a  b", "a b ", " a b", "Yes Sir", "on call",
    "x #y", "x: y z", "a - b", "a b-", "1 h", "0 x", "released 20 cluster(s) of wave w; by b",
    "a (b)", "a b,", "a ;b", "(a) b", ",a b", "a [b]", "a {b}", "a b:",
]  # fmt: skip
DIGESTS = st.from_regex(r"[0-9a-z._+:-]{1,12}", fullmatch=True)  # ids, durations, numbers
NAMES = st.from_regex(
    r"[A-Za-z0-9._/#:(),;'-]{1,6}( {1,2}[A-Za-z0-9._/#:(),;'-]{0,6}){1,3}", fullmatch=True
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    ODD_KEYS,
    st.sampled_from(TRICKY),
    st.sampled_from([1.5, -0.0, 1e300, "é", "a\nb", "a\tb", "\x85"]),  # (the writer: PyYAML)
    PLAIN,
    ASCII,
    DIGESTS,
    NAMES,
)
DOCS = st.dictionaries(  # plain keys, as the state's (the writer leaves others to PyYAML)
    PLAIN,
    st.recursive(
        SCALARS,
        lambda inner: st.one_of(
            st.lists(inner, max_size=4), st.dictionaries(PLAIN, inner, max_size=4)
        ),
        max_leaves=15,
    ),
    min_size=1,
    max_size=5,
)


@settings(max_examples=examples(300), deadline=None)
@given(st.one_of(DOCS, st.dictionaries(ODD_KEYS, SCALARS, min_size=1, max_size=3)))
def test_any_document_the_state_writer_writes(doc: dict[str, Any]) -> None:
    text = yamlsafe.dump(doc)
    agrees((messages.STATE_HEADER + text).encode())
    agrees(text.encode())


def test_a_small_state_is_read_without_the_full_loader() -> None:
    """A state below `_SMALL` is not measured against the full loader's limit (it is far
    below it), so `status` reads it without importing PyYAML."""
    assert statetext._SMALL < yamlsafe.MAX_BYTES
    data = messages.dump_state(states()[2])
    assert not statetext._too_large(data)
    assert statetext._too_large(b"x" * (yamlsafe.MAX_BYTES + 1))
    assert not statetext._too_large(b"x" * yamlsafe.MAX_BYTES)


LINES = [
    "", " ", "#", "# c", "  # c", "---", "...", "%YAML 1.1", "x", "- x", "  - x", "    - x",
    "x:", "x: ", "x:  ", "  x:", "x: y", "x: y # c", "x: 'y'", "x: 'y", "  y'", "x: \"y\\n\"",
    "x: yes", "x: Null", "x: ~", "x: 1", "x: 012", "x: 1:20", "x: .inf", "x: [a]", "x: {}",
    "x: []", "x: &a y", "x: *a", "y: *a", "x: !!str 1", "x: !!int '1'", "x: |", "x: >",
    "  continued", "? x", ": y", "<<: {a: 1}", "x: - y", "x:y", "- - x", "-", "- ", "-x",
    "  x: y", "   x: y", "\tx: y", "x: y\r", "x: é", "\ufeffx: y", "name: other", "paused: on",
    "  - wave: w", "    clusters:", "      - c1", "      - yes", "      - 'c2'", "     - c3",
    "       - c4", "    clusters: []", "  - name: s", "    state: released",
]  # fmt: skip


EDITS = st.tuples(
    st.sampled_from(["put", "insert", "delete", "indent"]),
    st.integers(0, 10**6),
    st.sampled_from(LINES),
)


@settings(max_examples=examples(400), deadline=None)
@given(st.sampled_from(range(5)), st.lists(EDITS, min_size=1, max_size=3))
def test_a_damaged_or_hand_edited_state(index: int, edits: list[tuple[str, int, str]]) -> None:
    lines = messages.dump_state(states()[index]).decode().split("\n")[:-1]
    for kind, where, text in edits:
        at_line = where % (len(lines) + 1)
        if kind == "insert" or at_line == len(lines):
            lines.insert(at_line, text)
        elif kind == "put":
            lines[at_line] = text
        elif kind == "delete":
            del lines[at_line]
        else:
            lines[at_line] = " " + lines[at_line]
    agrees(("\n".join(lines) + "\n").encode("utf-8"))


@pytest.mark.parametrize(
    "text",
    [
        "a: 1\n\nb: 2\n",  # a blank line
        "a: 1\n# c\nb: 2\n",  # a comment after the content
        "a: x\n  y\n",  # a plain scalar continued
        "a: 'x\n  y'\n",  # a quoted one
        "a: &x 1\nb: *x\n",  # an alias
        "a:\n- 1\n",  # a sequence at its key's indentation
        "a:\n   b: 1\n",  # three spaces
        "a: 1\na: 2\n",  # a duplicate key
        "a: [1, 2]\n",  # a flow collection
        "a: 1\r\n",  # CRLF
        "\ufeffa: 1\n",  # a BOM
        "a: 1",  # no final newline
        "--- \na: 1\n",  # a document marker
        "a: 1\n---\nb: 2\n",  # two documents
        "? a\n: 1\n",  # a complex key
        "a: |\n  x\n",  # a literal block
        "# only a comment\n",
    ],
)
def test_other_layouts_are_left_to_the_full_loader(text: str) -> None:
    assert statetext.read(text.encode("utf-8")) is None


def test_a_state_in_another_layout_still_loads_or_is_refused_by_the_full_loader() -> None:
    state = fresh()
    data = messages.dump_state(state).replace(b"\npaused: false\n", b"\n\npaused: false\n")
    assert statetext.read(data) is None
    assert messages.load_state(data, source="rollout.yaml") == state
    twice = messages.dump_state(state) + b"paused: true\n"
    with pytest.raises(Exception, match="duplicate key 'paused'"):
        messages.load_state(twice, source="rollout.yaml")
