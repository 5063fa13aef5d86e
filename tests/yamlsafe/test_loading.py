"""The fast paths of `planner.yamlsafe` give exactly what PyYAML's SafeLoader gives."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from planner import yamlsafe
from tests.testing.examples import examples
from tests.testing.paths import FLEETS_DIR
from tests.testing.yamlreference import fixture_outcome


class _Reference(yaml.SafeLoader):
    """PyYAML's own SafeLoader, dates kept as strings (what yamlsafe promises)."""


yamlsafe.without_timestamps(_Reference)


def _reference(data: bytes) -> Any:
    return [d for d in yaml.load_all(data.decode("utf-8-sig"), Loader=_Reference) if d is not None]


def _outcome(load: Any, data: bytes) -> Any:
    try:
        return ("ok", load(data))
    except (yaml.YAMLError, yamlsafe.YamlError):
        return ("error",)


_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False),
    st.text(max_size=12),
    st.sampled_from(["yes", "no", "on", "0x1F", "1_000", "0o17", "1:20", ".inf", "2024-01-01"]),
)
_values = st.recursive(
    _scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=examples(120), deadline=None)
@given(_values, st.booleans())
def test_same_as_safe_loader(value: Any, flow: bool) -> None:
    data = yaml.safe_dump(value, default_flow_style=flow).encode()
    assert _outcome(yamlsafe.load_all, data) == _outcome(_reference, data)


@pytest.mark.parametrize(
    "text",
    [
        "a: &x [1, 2]\nb: *x\n",
        "<<: {a: 1}\nb: 2\n",
        "base: &b {a: 1}\nderived:\n  <<: *b\n  c: 2\n",
        "a: !!binary aGk=\n",
        "a: 2024-01-01\nb: 0x1F\nc: 1_000\nd: .inf\ne: yes\nf: ~\ng: '1'\nh: 1:20\n",
        "? [a, b]\n: c\n",
        "{1: a, true: b}\n",
        "a: !!set {x, y}\n",
        "- !!omap [{a: 1}]\n",
        "a: !!str 1\nb: !!int '2'\n",
        "a: 1\na: 2\n",
        "a: 1\nb: '1'\nc: on\nd: 'on'\ne: null\nf: 'null'\n'2': x\n2: y\n",
        "a: ! 12\nb: \"3\"\nc: '~'\nd: ! [1, ! {e: f}]\n",  # the non-specific tag, quoted
    ],
)
def test_tricky_documents(text: str) -> None:
    data = text.encode()
    assert _outcome(yamlsafe.load_all, data) == _outcome(_reference, data)


def test_aliases_share_the_object() -> None:
    (doc,) = yamlsafe.load_all(b"a: &x [1, 2]\nb: *x\n")
    assert doc["a"] is doc["b"]


@pytest.mark.parametrize(
    ("text", "line"),
    [("a: 1\nb: 2\na: 3\n", 3), ("top:\n  x: 1\n  x: 2\n", 3), ("m: {k: 1, k: 2}\n", 1)],
)
def test_strict_rejects_duplicate_keys(text: str, line: int) -> None:
    with pytest.raises(yamlsafe.YamlError, match="duplicate key") as caught:
        yamlsafe.load_all(text.encode(), strict=True)
    assert caught.value.line == line
    assert yamlsafe.load_all(text.encode())  # the lenient loader keeps the last value


def test_every_fixture_file_loads_the_same() -> None:
    root = FLEETS_DIR
    files = sorted(root.rglob("*.yaml"))
    assert files
    seen: set[bytes] = set()  # many fleets share files: the same bytes load the same way
    for path in files:
        data = path.read_bytes()
        if data in seen:
            continue
        seen.add(data)
        reference = fixture_outcome(data.decode("utf-8-sig"))  # read once per run
        assert _outcome(yamlsafe.load_all, data) == reference, path


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"a: 1\n",
        b"\xef\xbb\xbfa: 1\n",
        b"\xef\xbb\xbf\xef\xbb\xbfa",
        b"a\xef\xbb\xbf",
        b"\xc3\xa9",
    ],
)
def test_decode_drops_one_bom_as_utf_8_sig_does(data: bytes) -> None:
    assert yamlsafe.decode(data) == data.decode("utf-8-sig")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"a\xff", r"not UTF-8 text \(byte 1: b'\\xff'\)"),
        (b"\xff", r"not UTF-8 text \(byte 0: b'\\xff'\)"),
        (b"\xef\xbb\xbfa\xff", r"not UTF-8 text \(byte 1: b'\\xbb'\)"),  # counted after the BOM
    ],
)
def test_decode_names_the_first_bad_byte(data: bytes, message: str) -> None:
    with pytest.raises(yamlsafe.YamlError, match=message):
        yamlsafe.decode(data)
