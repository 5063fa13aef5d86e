"""Safe YAML loading: limits hold, errors carry lines, output is deterministic."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from planner import yamlsafe
from planner.yamlsafe import YamlError

BOMB = b"a: &a [x,x,x,x,x,x,x,x,x]\n" + b"".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{','.join(['*' + chr(97 + i)] * 9)}]\n".encode()
    for i in range(8)
)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"[" * 20000 + b"]" * 20000, "nest"),
        (BOMB, "alias bomb"),
        (b"\xff\xfe\x00", "not UTF-8"),
        (b"a: [\n", "line"),
        (b"!!python/object:os.system {}\n", "could not determine a constructor"),
    ],
)
def test_dangerous_or_broken_input_is_a_yaml_error(data: bytes, message: str) -> None:
    with pytest.raises(YamlError, match=message):
        yamlsafe.load_all(data)


def test_duplicate_keys_only_rejected_in_strict_mode() -> None:
    assert yamlsafe.load_one(b"a: 1\na: 2\n") == {"a": 2}
    with pytest.raises(YamlError, match="line 2: duplicate key 'a'"):
        yamlsafe.load_one(b"a: 1\na: 2\n", strict=True)


def test_dates_stay_strings_like_kubernetes() -> None:
    assert yamlsafe.load_one(b"d: 2024-01-01\n") == {"d": "2024-01-01"}


def test_multi_document_and_bom() -> None:
    assert yamlsafe.load_all(b"\xef\xbb\xbfa: 1\n---\n---\nb: 2\n") == [{"a": 1}, {"b": 2}]


json_like = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(min_size=1, max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_like)
def test_dump_round_trips(value: object) -> None:
    text = yamlsafe.dump({"v": value})
    assert yamlsafe.load_one(text.encode()) == {"v": value}
    assert yamlsafe.dump({"v": value}) == text
