"""`planner.yamlsafe.plain` reads plain block YAML exactly as the full loader does, and
answers None for every other text (which the full loader then reads)."""

from __future__ import annotations

import math
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import yamlsafe
from planner.yamlsafe import loading, plain
from tests.testing.examples import examples
from tests.testing.paths import FLEETS_DIR
from tests.testing.yamlreference import fixture_outcome


class _Reference(yaml.SafeLoader):
    """PyYAML's own (pure Python) SafeLoader, dates kept as strings."""


yamlsafe.without_timestamps(_Reference)


def _full(text: str, *, strict: bool = False, reference: bool = False) -> Any:
    """What the full loader gives (("ok", docs) or ("error",)), without the plain path."""
    loader = _Reference if reference else (loading._StrictLoader if strict else loading._Loader)
    try:
        return ("ok", [d for d in yaml.load_all(text, Loader=loader) if d is not None])
    except (yaml.YAMLError, yamlsafe.YamlError, RecursionError):
        return ("error",)


def same(a: Any, b: Any) -> bool:
    """Equal, and of the same types all the way down (`True == 1` is not enough), with
    mapping keys in the same order."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return len(a) == len(b) and all(
            same(ka, kb) and same(a[ka], b[kb]) for ka, kb in zip(a, b, strict=True)
        )
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, float) and math.isnan(a):
        return math.isnan(b)
    return bool(a == b)


def check(text: str, *, strict: bool = False, fixture: bool = False) -> Any:
    """plain.load of `text` is None, or the full loader (libyaml's parser, and PyYAML's own)
    reads the same value without an error. `fixture`: the text of a fixture fleet's file,
    which PyYAML's own loader reads once per run (tests/testing/yamlreference.py)."""
    loader = loading._StrictLoader if strict else loading._Loader
    got = plain.load(text, loader, strict=strict)
    if got is not None:
        outcome = _full(text, strict=strict)
        assert outcome[0] == "ok", f"accepted a text the full loader refuses: {text!r}"
        assert same(got, outcome[1]), (text, got, outcome[1])
        if not strict:
            reference = fixture_outcome(text) if fixture else _full(text, reference=True)
            assert reference[0] == "ok" and same(got, reference[1]), (text, got, reference)
    return got


# ---------------------------------------------------------------- generated texts

_WORDS = [
    *("a", "b", "key", "name", "a b", "x.y/z", "../../base", "CLUSTER=c1", "https://h:1/p"),
    *("yes", "No", "on", "OFF", "y", "n", "null", "Null", "~", "true", "False"),
    *("1", "-1", "+1", "0", "007", "0x1F", "0o17", "0b101", "1_000", "1:30", "-1:30", "190:20:30"),
    *("3.5", "-.5", "1e3", "1.0e+3", ".inf", "-.Inf", ".nan", "6.8523015e+5", "2024-01-01"),
    *("=", "<<", "a:b", "a: b", "a:", ":a", "x#y", "x #y", "#c", "-", "--x", "- x", "?x", "? x"),
    *("'q'", '"q"', "it's", "[a]", "{a: 1}", "a,b", "&a", "*a", "!t", "!!str 1", "|", ">-"),
    *("%x", "@x", "`x", "é", "a\tb", "---", "...", "--- a", "a  b", "k" * 1030, ""),
]
_TEXT_CHARS = " -:#ab1.~'"
_LINE_BYTES = 23


def _word(data: bytes) -> str:
    """A word of _WORDS, or (as often) up to six characters of _TEXT_CHARS, from 8 bytes."""
    if data[0] % 2 == 0:
        return _WORDS[data[1] % len(_WORDS)]
    return "".join(_TEXT_CHARS[b % len(_TEXT_CHARS)] for b in data[2 : 2 + data[1] % 7])


def _line_of(data: bytes) -> str:
    """One line, every choice read from a byte: an indent, up to two `-` entries with up to
    two spaces after each, one of five forms (`key:`, `key: value`, a value, blank, a
    comment) with up to two spaces around its colon, then up to two trailing spaces."""
    indent = " " * (data[0] % 7)
    dashes = "".join("-" + " " * (b % 3) for b in data[2 : 2 + data[1] % 3])
    key, value, spaces = _word(data[4:12]), _word(data[12:20]), " " * (data[20] % 3)
    body = (
        f"{key}{spaces}:",
        f"{key}{spaces}: {spaces}{value}",
        value,
        "",
        f"# {value}",
    )[data[21] % 5]
    return indent + dashes + body + " " * (data[22] % 3)


# One draw per line (a fixed number of bytes, read field by field) rather than a dozen:
# generating the texts, not reading them, was nearly all of this test's time. Hypothesis
# still shrinks and mutates line by line, and towards zero bytes: the simplest line.
_line = st.binary(min_size=_LINE_BYTES, max_size=_LINE_BYTES).map(_line_of)


@settings(max_examples=examples(1500), deadline=None)
@given(st.lists(_line, max_size=8), st.booleans())
def test_generated_lines_read_as_the_full_loader_reads_them(lines: list[str], strict: bool) -> None:
    check("\n".join(lines), strict=strict)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=10),
    st.sampled_from(_WORDS),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(_scalars, inner, max_size=4)
    ),
    max_leaves=24,
)


@settings(max_examples=examples(600), deadline=None)
@given(_values, st.sampled_from([2, 3, 4]), st.booleans())
def test_dumped_data_reads_back(value: Any, indent: int, indent_sequences: bool) -> None:
    """Block YAML as PyYAML and kubectl write it (sequences indented or at their key's
    column): whatever the plain reader accepts, it reads as the full loader does."""

    class Dumper(yaml.SafeDumper):
        def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
            super().increase_indent(flow, False if indent_sequences else indentless)

    text = yaml.dump(value, Dumper=Dumper, default_flow_style=False, indent=indent)
    check(text)


# ---------------------------------------------------------------- chosen texts

ACCEPTED = {
    "a: 1\nb:\n  c: x\n  d:\n  - y\n  - z\ne: ~\n": [
        {"a": 1, "b": {"c": "x", "d": ["y", "z"]}, "e": None}
    ],
    "resources:\n- ../../base\n- a.yaml\nkind: Kustomization\n": [
        {"resources": ["../../base", "a.yaml"], "kind": "Kustomization"}
    ],
    "- - a\n  - b\n- c: 1\n  d: on\n-\n- \n  e: f\n": [
        [["a", "b"], {"c": 1, "d": True}, None, {"e": "f"}]
    ],
    "# head\n\n  a:   x  y  \n  # inside\n  b: 0x1F\n": [{"a": "x  y", "b": 31}],
    "- a:\n  - b\n- c\n": [[{"a": ["b"]}, "c"]],
    "w: 1:30\nx: 1_000\ny: .inf\nz: 2024-01-01\nNo: -1\n": [
        {"w": 90, "x": 1000, "y": math.inf, "z": "2024-01-01", False: -1}
    ],
    "url: https://h:1/p\nlit: CLUSTER_NAME=c1\nflag: --x\n": [
        {"url": "https://h:1/p", "lit": "CLUSTER_NAME=c1", "flag": "--x"}
    ],
    "a: 1\na: 2\n": [{"a": 2}],  # the lenient loader keeps the last value
    "": [],
    "# only a comment\n": [],
}


@pytest.mark.parametrize("text", list(ACCEPTED))
def test_plain_block_texts_are_read(text: str) -> None:
    got = check(text)
    assert got is not None, "the plain reader must read this text itself"
    assert same(got, ACCEPTED[text])


DECLINED = [
    "a: 1\n  b: 2\n",  # more indented after a value
    "a:\n  b\n",  # a value alone on its line
    "- a\n  b\n",  # a continued scalar
    "- a\n  b: 1\n",  # more indented after an item
    "- a\n  - b\n",
    "-\na: 1\n",  # a key at the column of a sequence that is not at its key's column
    "a:\n  -\n  b: 1\n",
    "a: x\n  y\n",
    "a:\n  b: 1\n c: 2\n",  # a bad indent
    "- a\nb: 1\n",  # a second node at the top
    "a: 1\n- b\n",
    "<<: x\n",  # the merge key
    "=: x\n",  # the value key
    "a: 'q'\n",
    'a: "q"\n',
    "a: [x]\n",
    "a: {x: 1}\n",
    "a: &x 1\nb: *x\n",
    "a: !!str 1\n",
    "a: |\n  text\n",
    "a: >-\n  text\n",
    "a: b # comment\n",
    "a: b: c\n",
    "a: - x\n",  # a sequence entry where a value goes
    "a: -\n",
    "a:b: c\n",
    "---\na: 1\n",
    "a: 1\n---\nb: 2\n",
    "a: 1\n...\n",
    "--- a: 1\n",
    "... a: 1\n",
    "%YAML 1.1\n---\na: 1\n",
    "a:\tb\n",
    "a: \u00e9\n",
    "a: 1\r\nb: 2\r\n",
    "? a\n: b\n",
    "scalar\n",
    "k" * 1030 + ": v\n",
]


@pytest.mark.parametrize("text", DECLINED)
def test_other_texts_are_left_to_the_full_loader(text: str) -> None:
    assert check(text) is None
    assert check(text, strict=True) is None


def test_strict_declines_a_repeated_key_and_the_full_loader_names_it() -> None:
    text = "a: 1\nb: 2\na: 3\n"
    assert plain.load(text, loading._StrictLoader, strict=True) is None
    with pytest.raises(yamlsafe.YamlError, match="duplicate key") as caught:
        yamlsafe.load_all(text.encode(), strict=True)
    assert caught.value.line == 3


def test_deep_nesting_is_left_to_the_full_loader() -> None:
    text = "".join(" " * depth + "k:\n" for depth in range(150)) + " " * 150 + "k: v\n"
    assert plain.load(text, loading._Loader) is None
    assert check("".join(" " * depth + "k:\n" for depth in range(50))) is not None


def test_every_fixture_file_reads_the_same_and_kustomizations_take_the_plain_path() -> None:
    read = kustomizations = 0
    seen: set[bytes] = set()
    for path in sorted(FLEETS_DIR.rglob("*.yaml")):
        data = path.read_bytes()
        if data in seen:
            continue
        seen.add(data)
        try:
            text = loading.decode(data)
        except yamlsafe.YamlError:
            continue
        for strict in (False, True):
            got = check(text, strict=strict, fixture=True)
        read += got is not None
        kustomizations += got is not None and path.name == "kustomization.yaml"
    assert read > 100 and kustomizations > 50  # the fast path is the common path


def test_load_all_returns_fresh_containers() -> None:
    first = yamlsafe.load_all(b"a:\n  - b\n")
    first[0]["a"].append("changed")
    assert yamlsafe.load_all(b"a:\n  - b\n") == [{"a": ["b"]}]
