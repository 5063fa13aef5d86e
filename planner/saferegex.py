"""Regular expressions from a policy, matched in linear time.

A policy is input: a pattern like `(a+)+$` would make Python's backtracking `re` run for
ages on a 63-character cluster name. Patterns are parsed with Python's own parser (same
syntax) and matched by a Thompson NFA simulation: time grows with pattern size times text
length, never exponentially. Backreferences, lookarounds, conditionals, atomic groups and
possessive repeats (which need backtracking) are refused when the policy is loaded, as are
patterns longer than `MAX_PATTERN` or whose automaton would exceed `MAX_STATES`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from re import _constants as C  # type: ignore[attr-defined]  # the parser of `re` itself
from re import _parser as P  # type: ignore[attr-defined]
from typing import Any

MAX_PATTERN = 1000
MAX_STATES = 20_000

_CHAR, _SPLIT, _BEGIN, _END, _END_STRING, _BOUNDARY, _NOT_BOUNDARY, _MATCH = range(8)


@dataclass
class _State:
    kind: int
    test: Callable[[str], bool] | None = None
    out: list[int] = field(default_factory=list)


class Pattern:
    """A compiled pattern: `search(text)` like `re.search(...) is not None`."""

    def __init__(self, pattern: str) -> None:
        if len(pattern) > MAX_PATTERN:
            raise ValueError(f"the pattern is longer than {MAX_PATTERN} characters")
        try:
            parsed = P.parse(pattern, 0)
        except re.error as exc:
            raise ValueError(f"not a regular expression: {exc}") from None
        flags = parsed.state.flags
        self.ignorecase = bool(flags & C.SRE_FLAG_IGNORECASE)
        self.dotall = bool(flags & C.SRE_FLAG_DOTALL)
        self.multiline = bool(flags & C.SRE_FLAG_MULTILINE)
        self.states: list[_State] = []
        match = self._new(_State(_MATCH))
        self.start = self._seq(list(parsed), match)

    # ---- construction (right to left: each piece knows its continuation) -------------
    def _new(self, state: _State) -> int:
        if len(self.states) >= MAX_STATES:
            raise ValueError("the pattern is too large (bounded repeats expand too much)")
        self.states.append(state)
        return len(self.states) - 1

    def _seq(self, items: list[tuple[Any, Any]], nxt: int) -> int:
        for op, arg in reversed(items):
            nxt = self._item(op, arg, nxt)
        return nxt

    def _item(self, op: Any, arg: Any, nxt: int) -> int:
        if op in (C.LITERAL, C.NOT_LITERAL, C.ANY, C.IN):
            return self._new(_State(_CHAR, self._test(op, arg), [nxt]))
        if op is C.SUBPATTERN:
            _, add, remove, body = arg
            if add or remove:
                raise ValueError("flags inside a group are not supported; put them first")
            return self._seq(list(body), nxt)
        if op is C.BRANCH:
            starts = [self._seq(list(alt), nxt) for alt in arg[1]]
            return self._new(_State(_SPLIT, out=starts))
        if op in (C.MAX_REPEAT, C.MIN_REPEAT):
            low, high, body = arg
            return self._repeat(list(body), low, high, nxt)
        if op is C.AT:
            kinds = {
                C.AT_BEGINNING: _BEGIN,
                C.AT_BEGINNING_STRING: _BEGIN,
                C.AT_END: _END,
                C.AT_END_STRING: _END_STRING,
                C.AT_BOUNDARY: _BOUNDARY,
                C.AT_NON_BOUNDARY: _NOT_BOUNDARY,
            }
            if arg not in kinds:
                raise ValueError(f"the anchor {arg} is not supported")
            return self._new(_State(kinds[arg], out=[nxt]))
        raise ValueError(
            f"{str(op).lower()} is not supported: backreferences, lookarounds, conditionals "
            "and possessive or atomic groups need backtracking"
        )

    def _repeat(self, body: list[tuple[Any, Any]], low: int, high: int, nxt: int) -> int:
        if high == C.MAXREPEAT:
            loop = self._new(_State(_SPLIT))
            self.states[loop].out = [self._seq(body, loop), nxt]
            tail = loop
        else:
            tail = nxt
            for _ in range(high - low):
                split = self._new(_State(_SPLIT))
                self.states[split].out = [self._seq(body, tail), nxt]
                tail = split
        for _ in range(low):
            tail = self._seq(body, tail)
        return tail

    def _test(self, op: Any, arg: Any) -> Callable[[str], bool]:
        if op is C.ANY:
            dotall = self.dotall
            return lambda ch: dotall or ch != "\n"
        if op is C.LITERAL:
            return self._fold(lambda ch: ord(ch) == arg)
        if op is C.NOT_LITERAL:
            inner = self._fold(lambda ch: ord(ch) == arg)
            return lambda ch: not inner(ch)
        negate = False
        tests: list[Callable[[str], bool]] = []
        for item_op, item in arg:
            if item_op is C.NEGATE:
                negate = True
            elif item_op is C.LITERAL:
                tests.append(_equals(item))
            elif item_op is C.RANGE:
                tests.append(_between(item[0], item[1]))
            elif item_op is C.CATEGORY:
                tests.append(_category(item))
            else:
                raise ValueError(f"{str(item_op).lower()} in a character class is not supported")
        folded = self._fold(lambda ch: any(t(ch) for t in tests))
        return (lambda ch: not folded(ch)) if negate else folded

    def _fold(self, test: Callable[[str], bool]) -> Callable[[str], bool]:
        if not self.ignorecase:
            return test
        return lambda ch: test(ch) or test(ch.lower()) or test(ch.upper())

    # ---- matching ------------------------------------------------------------------------
    def search(self, text: str) -> bool:
        """Whether the pattern matches anywhere in `text` (like `re.search`)."""
        current: set[int] = set()
        for pos in range(len(text) + 1):
            if self._add(current, self.start, text, pos):
                return True
            if pos == len(text):
                break
            ch = text[pos]
            following: set[int] = set()
            for index in current:
                state = self.states[index]
                if (
                    state.kind == _CHAR
                    and state.test is not None
                    and state.test(ch)
                    and self._add(following, state.out[0], text, pos + 1)
                ):
                    return True
            current = following
        return False

    def _add(self, into: set[int], index: int, text: str, pos: int) -> bool:
        """Add a state and everything reachable without reading; True when it matches."""
        stack = [index]
        while stack:
            i = stack.pop()
            if i in into:
                continue
            into.add(i)
            state = self.states[i]
            kind = state.kind
            if kind == _MATCH:
                return True
            if kind == _CHAR:
                continue
            if kind == _SPLIT or _holds(kind, text, pos, self.multiline):
                stack.extend(reversed(state.out))
        return False


def _holds(kind: int, text: str, pos: int, multiline: bool) -> bool:
    n = len(text)
    if kind == _BEGIN:
        return pos == 0 or (multiline and text[pos - 1] == "\n")
    if kind == _END:
        return pos == n or (pos == n - 1 and text[pos] == "\n") or (multiline and text[pos] == "\n")
    if kind == _END_STRING:
        return pos == n
    before = pos > 0 and _is_word(text[pos - 1])
    after = pos < n and _is_word(text[pos])
    return (before != after) if kind == _BOUNDARY else (before == after)


def _equals(code: int) -> Callable[[str], bool]:
    return lambda ch: ord(ch) == code


def _between(low: int, high: int) -> Callable[[str], bool]:
    return lambda ch: low <= ord(ch) <= high


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _category(name: Any) -> Callable[[str], bool]:
    table: dict[Any, Callable[[str], bool]] = {
        C.CATEGORY_DIGIT: str.isdigit,
        C.CATEGORY_NOT_DIGIT: lambda ch: not ch.isdigit(),
        C.CATEGORY_WORD: _is_word,
        C.CATEGORY_NOT_WORD: lambda ch: not _is_word(ch),
        C.CATEGORY_SPACE: str.isspace,
        C.CATEGORY_NOT_SPACE: lambda ch: not ch.isspace(),
    }
    if name not in table:
        raise ValueError(f"the class {name} is not supported")
    return table[name]


@functools.lru_cache(maxsize=256)
def compile_pattern(pattern: str) -> Pattern:
    """A compiled pattern (cached); ValueError says what is not supported."""
    return Pattern(pattern)


def search(pattern: str, text: str) -> bool:
    return compile_pattern(pattern).search(text)
