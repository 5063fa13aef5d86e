"""Reading the state file's text fast: the block YAML `messages.dump_state` writes.

A state lists every cluster of the fleet (10,000 lines at 10,000 clusters) and every
rollout command reads it; building PyYAML's node tree for it costs more than the rest of a
`status`. `read` parses the layout the state writer produces (a block mapping of block
mappings and sequences, two spaces a level, one scalar per line) line by line and returns
exactly what `planner.yamlsafe.load_one(data, strict=True)` returns, or None: then the
caller loads the text with the full loader (which also reports any error). A scalar of
letters, digits and `._/-` that starts with a letter, `_` or `/` and is no YAML 1.1 boolean
or null word is a string (as the state writer relies on); so are `null`, `true`, `false`, a
decimal integer, a digest or a duration that starts with a digit (`1h`), words separated by
single spaces (a name) and a single-quoted string on one line (what the writer quotes); any
other
scalar is loaded by the full loader on its own, in the same context (a block mapping value
on one line), and only then is the full loader imported. Anything
else declines: comments after the first lines, blank lines, non-ASCII or control
characters, other indentation, a scalar continued on the next line, flow collections,
duplicate keys, documents markers, complex keys. Property tests compare both readers on
generated states and on damaged texts. Pure.
"""

from __future__ import annotations

import re
from typing import Any

_PLAIN = re.compile(r"[A-Za-z_/][A-Za-z0-9._/-]*")
_KEY = re.compile(r"([A-Za-z_/][A-Za-z0-9._/-]*):(?: (.*))?")
_WORDS = frozenset({"yes", "no", "true", "false", "on", "off", "null", "y", "n"})
_KNOWN = {"null": None, "true": True, "false": False}  # as PyYAML's safe loader reads them
_INT = re.compile(r"0|[1-9][0-9]*")  # (no sign, no `_`, no leading 0: octal in YAML 1.1)
# a digest, an id or a duration that starts with a digit: no number (it has a letter and no
# `.`, `:`, `_` or sign, and starts with no `0`, as `0b1`, `0x1` and octal do), so a string
_DIGITS_FIRST = re.compile(r"[1-9][0-9a-z]*[a-z][0-9a-z]*")
# words separated by single spaces (a name, an event's detail): no YAML word or number (it
# has a space and starts with a letter), no `: ` or ` #`, so a string
_WORDS_SPACED = re.compile(r"[A-Za-z][A-Za-z0-9._/(),;-]*(?: [A-Za-z0-9._/(),;-]+)+")
_QUOTED = re.compile(r"'(?:[^']|'')*'")  # one line: `''` is a quote, nothing else escapes
_SMALL = 8 * 1024 * 1024  # below the full loader's limit (`yamlsafe.MAX_BYTES`): checked
# without importing it
_ITEM = r"- ([A-Za-z_/][A-Za-z0-9._/-]*)\n"  # a plain item of a sequence (after the padding)
_TEXT_BYTES = bytes(range(0x20, 0x7F)) + b"\n"  # printable ASCII lines
_MAX_KEY = 1000  # YAML's implicit keys are shorter than 1024 characters
_MAX_LOADED = 256  # scalars loaded one by one; past it the full loader is faster
_MAX_PAD = 40  # deeper than any state: let the full loader judge


class _Decline(Exception):
    """The text is not in the writer's layout: the full loader reads it."""


def read(data: bytes) -> dict[str, Any] | None:
    """The mapping `yamlsafe.load_one(data, strict=True)` gives, or None (use the full loader:
    another layout, or an error it reports)."""
    if _too_large(data) or data.translate(None, _TEXT_BYTES) or data[-1:] != b"\n":
        return None
    text = data.decode("ascii")
    lines = text.split("\n")
    lines.pop()  # the "" after the last newline
    start = 0
    while start < len(lines) and lines[start].startswith("#"):  # the header comment
        start += 1
    if start == len(lines):
        return None
    reader = _Reader(text, lines)
    try:
        value, end = reader.mapping(start, "", None)
    except _Decline:
        return None
    return value if end == len(lines) else None


def _too_large(data: bytes) -> bool:
    """Larger than the full loader reads (`yamlsafe.MAX_BYTES`)."""
    if len(data) <= _SMALL:
        return False
    from planner import yamlsafe

    return len(data) > yamlsafe.MAX_BYTES


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


class _Reader:
    def __init__(self, text: str, lines: list[str]) -> None:
        self.text = text
        self.lines = lines
        self.loaded: dict[str, Any] = {}
        self.known = (0, 0)  # a line and where it starts in the text
        self.runs: dict[int, tuple[re.Pattern[str], re.Pattern[str]]] = {}

    def offset(self, i: int) -> int:
        """Where line `i` starts in the text (lines are met in order: from the last one)."""
        line, at = self.known
        if i < line:
            line, at = 0, 0
        at += sum(map(len, self.lines[line:i])) + (i - line)
        self.known = (i, at)
        return at

    def plain_items(self, i: int, width: int) -> tuple[list[Any], int]:
        """The plain string items of the sequence at `width` from line `i` on, and the line
        after them."""
        if width not in self.runs:
            item = " " * width + _ITEM
            self.runs[width] = (re.compile(f"(?:{item})+"), re.compile(item))
        run, one = self.runs[width]
        start = self.offset(i)
        found = run.match(self.text, start)
        if found is None:
            return [], i
        items: list[Any] = one.findall(self.text, start, found.end())
        if not _WORDS.isdisjoint(map(str.lower, items)):
            return [], i
        return items, i + len(items)

    def mapping(self, i: int, pad: str, first: str | None) -> tuple[dict[str, Any], int]:
        """The block mapping whose keys start at `len(pad)` from line `i` (`first`: the text
        after `- ` of line `i`, the mapping being a sequence item)."""
        lines, width, out = self.lines, len(pad), {}
        while i < len(lines):
            if first is not None:
                content, first = first, None
            else:
                line = lines[i]
                indent = _indent(line)
                if indent < width:
                    break  # (a blank line too: the mapping at the top refuses it)
                if indent != width:
                    raise _Decline
                content = line[width:]
            found = _KEY.fullmatch(content)
            if found is None:
                raise _Decline
            key, rest = found.group(1), found.group(2)
            if key in out or key.lower() in _WORDS or len(key) > _MAX_KEY:
                raise _Decline
            i += 1
            if rest is None:
                out[key], i = self.block(i, pad)
            else:
                out[key] = self.scalar(rest)
        return out, i

    def block(self, i: int, pad: str) -> tuple[Any, int]:
        """The value of a `key:` line at `len(pad)`: the block two spaces deeper below it, or
        null (any other line below is the caller's to judge)."""
        inner = pad + "  "
        if i < len(self.lines) and _indent(self.lines[i]) == len(inner) <= _MAX_PAD:
            if self.lines[i].startswith("- ", len(inner)):
                return self.sequence(i, inner)
            return self.mapping(i, inner, None)
        return None, i

    def sequence(self, i: int, pad: str) -> tuple[list[Any], int]:
        """The block sequence whose `- ` start at `len(pad)` from line `i`."""
        lines, width = self.lines, len(pad)
        prefix = pad + "- "
        out, end = self.plain_items(i, width)  # (a list of cluster names: most of a state)
        if out and (end == len(lines) or (lines[end] and _indent(lines[end]) < width)):
            return out, end
        out = []
        while i < len(lines):
            line = lines[i]
            if not line.startswith(prefix):
                if line and _indent(line) < width:
                    break
                raise _Decline
            item = line[width + 2 :]
            if _KEY.fullmatch(item):
                value, i = self.mapping(i, pad + "  ", item)
                out.append(value)
                continue
            out.append(self.scalar(item))
            i += 1
        return out, i

    def scalar(self, text: str) -> Any:
        if _PLAIN.fullmatch(text) and text.lower() not in _WORDS:
            return text
        if text in ("[]", "{}"):
            return [] if text == "[]" else {}  # (a new one each time, as the loader's)
        if text in _KNOWN:
            return _KNOWN[text]
        if _INT.fullmatch(text):
            return int(text)
        if _DIGITS_FIRST.fullmatch(text) or _WORDS_SPACED.fullmatch(text):
            return text
        if _QUOTED.fullmatch(text):
            return text[1:-1].replace("''", "'")
        if text in self.loaded:
            return self.loaded[text]
        if len(self.loaded) >= _MAX_LOADED:
            raise _Decline
        from planner import yamlsafe

        try:
            doc = yamlsafe.load_one(f"k: {text}\n".encode(), strict=True)
        except yamlsafe.YamlError:
            raise _Decline from None
        if not isinstance(doc, dict) or list(doc) != ["k"]:
            raise _Decline
        value = doc["k"]
        if isinstance(value, dict | list):
            raise _Decline  # a flow collection
        self.loaded[text] = value
        return value
