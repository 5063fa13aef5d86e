"""ApplicationSet templates: the two syntaxes Argo CD fills an Application template with.

- fasttemplate (the default): `{{name}}`, `{{ metadata.labels.region }}`, `{{path.basename}}`
  are looked up in *flat* parameters (dotted keys); an unknown key is left as it is, the way
  Argo CD leaves it, so the caller sees that the template could not be filled.
- Go templates (`goTemplate: true`): `{{.name}}`, `{{.metadata.labels.region}}`,
  `{{.path.path}}`, `{{index .metadata.labels "region"}}`, `{{index .path.segments 1}}`,
  pipelines through a few text functions (`lower`, `upper`, `trim`, `trimPrefix`,
  `trimSuffix`, `replace`, `default`, `quote`, `toString`, `printf "%s"`), with `{{-`/`-}}`
  trimming. Anything else (`if`, `range`, variables, unknown functions, missing keys) raises
  `TemplateError`: the caller reports the object as unmodelled instead of guessing.

Pure.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any


class TemplateError(ValueError):
    """A template this module cannot evaluate (the reason is the message)."""


_FAST = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_GO_ACTION = re.compile(r"\{\{(-?)(.*?)(-?)\}\}", re.DOTALL)
_TOKEN = re.compile(r'\s*("(?:[^"\\]|\\.)*"|`[^`]*`|\||\(|\)|[^\s|()"`]+)')
_FUNCS_1: dict[str, Callable[[str], str]] = {
    "lower": str.lower,
    "upper": str.upper,
    "trim": str.strip,
    "toString": str,
    "quote": lambda text: '"' + text + '"',
    "squote": lambda text: "'" + text + "'",
    "title": str.title,
}


def render_fast(text: str, params: Mapping[str, Any]) -> str:
    """Fill `{{key}}` from flat params; unknown keys stay as written."""

    def repl(match: re.Match[str]) -> str:
        key = match.group(1).strip()
        if key and key in params:
            value = params[key]
            return value if isinstance(value, str) else _scalar_text(value)
        return match.group(0)

    return _FAST.sub(repl, text)


def render_go(text: str, params: Mapping[str, Any]) -> str:
    """Evaluate a Go text/template over nested params (the subset described above)."""
    out: list[str] = []
    pos = 0
    for match in _GO_ACTION.finditer(text):
        literal = text[pos : match.start()]
        if match.group(1):
            literal = literal.rstrip()
        if out and out[-1] == "\0trim":
            out.pop()
            literal = literal.lstrip()
        out.append(literal)
        body = match.group(2).strip()
        if body.startswith("/*"):
            pass
        else:
            out.append(_scalar_text(_pipeline(body, params)))
        if match.group(3):
            out.append("\0trim")
        pos = match.end()
    tail = text[pos:]
    if out and out[-1] == "\0trim":
        out.pop()
        tail = tail.lstrip()
    out.append(tail)
    return "".join(out)


def render_value(value: Any, params: Mapping[str, Any], go: bool) -> Any:
    """Render every string inside a YAML value (mapping keys too)."""
    if isinstance(value, str):
        if "{{" not in value:
            return value
        return render_go(value, params) if go else render_fast(value, params)
    if isinstance(value, Mapping):
        return {render_value(k, params, go): render_value(v, params, go) for k, v in value.items()}
    if isinstance(value, list):
        return [render_value(v, params, go) for v in value]
    return value


def unresolved(value: Any) -> str | None:
    """The first `{{...}}` left in a rendered value, or None."""
    if isinstance(value, str):
        found = _FAST.search(value)
        return found.group(0) if found else None
    if isinstance(value, Mapping):
        for k, v in value.items():
            hit = unresolved(k) or unresolved(v)
            if hit:
                return hit
    if isinstance(value, list):
        for v in value:
            hit = unresolved(v)
            if hit:
                return hit
    return None


def _scalar_text(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (Mapping, list)):
        raise TemplateError("a template prints a map or a list")
    return str(value)


# ---------------------------------------------------------------------- Go templates


def _tokens(body: str) -> list[str]:
    tokens: list[str] = []
    pos = 0
    while pos < len(body):
        if body[pos:].strip() == "":
            break
        match = _TOKEN.match(body, pos)
        if not match:
            raise TemplateError(f"cannot read template {{{{{body}}}}}")
        tokens.append(match.group(1))
        pos = match.end()
    return tokens


def _pipeline(body: str, params: Mapping[str, Any]) -> Any:
    tokens = _tokens(body)
    if not tokens:
        raise TemplateError("empty template action")
    if tokens[0] in ("if", "range", "with", "define", "template", "block", "end", "else"):
        raise TemplateError(f"template control {tokens[0]!r} is not evaluated")
    if any(t.startswith("$") for t in tokens):
        raise TemplateError("template variables are not evaluated")
    commands: list[list[str]] = [[]]
    depth = 0
    for token in tokens:
        if token == "(":
            depth += 1
        elif token == ")":
            depth -= 1
        if token == "|" and depth == 0:
            commands.append([])
        else:
            commands[-1].append(token)
    if depth != 0:
        raise TemplateError("unbalanced parentheses in a template")
    value: Any = _NOTHING
    for command in commands:
        value = _command(command, params, value)
    return value


class _Nothing:
    pass


_NOTHING = _Nothing()


def _command(words: list[str], params: Mapping[str, Any], piped: Any) -> Any:
    if not words:
        raise TemplateError("empty command in a template pipeline")
    head, args = words[0], _args(words[1:], params)
    if piped is not _NOTHING:
        args.append(piped)
    if head.startswith((".", '"', "`")) or head == "(":
        if args:
            raise TemplateError(f"{head} takes no arguments")
        return _operand(head, params)
    if head == "index":
        if not args:
            raise TemplateError("index needs a value")
        value = args[0]
        for key in args[1:]:
            value = _index(value, key)
        return value
    if head in _FUNCS_1:
        if len(args) != 1:
            raise TemplateError(f"{head} takes one argument")
        return _FUNCS_1[head](_text(args[0]))
    if head in ("trimPrefix", "trimSuffix") and len(args) == 2:
        affix, text = _text(args[0]), _text(args[1])
        return text.removeprefix(affix) if head == "trimPrefix" else text.removesuffix(affix)
    if head == "replace" and len(args) == 3:
        return _text(args[2]).replace(_text(args[0]), _text(args[1]))
    if head == "default" and len(args) == 2:
        return args[1] if args[1] not in (None, "", _NOTHING) else args[0]
    if head == "printf" and args and _text(args[0]).count("%") == len(args) - 1:
        return re.sub(r"%[sdv]", "{}", _text(args[0])).format(*(_text(a) for a in args[1:]))
    if head == "printf" and len(args) == 1:
        return _text(args[0])
    raise TemplateError(f"template function {head!r} is not evaluated")


def _args(words: list[str], params: Mapping[str, Any]) -> list[Any]:
    values: list[Any] = []
    index = 0
    while index < len(words):
        word = words[index]
        if word == "(":
            depth, end = 1, index + 1
            while end < len(words) and depth:
                depth += {"(": 1, ")": -1}.get(words[end], 0)
                end += 1
            values.append(_pipeline(" ".join(words[index + 1 : end - 1]), params))
            index = end
            continue
        values.append(_operand(word, params))
        index += 1
    return values


def _operand(word: str, params: Mapping[str, Any]) -> Any:
    if word.startswith('"'):
        return bytes(word[1:-1], "utf-8").decode("unicode_escape")
    if word.startswith("`"):
        return word[1:-1]
    if re.fullmatch(r"-?\d+", word):
        return int(word)
    if word in ("true", "false"):
        return word == "true"
    if word == ".":
        return params
    if word.startswith("."):
        value: Any = params
        for part in word[1:].split("."):
            value = _field(value, part, word)
        return value
    raise TemplateError(f"template word {word!r} is not evaluated")


def _field(value: Any, part: str, word: str) -> Any:
    if isinstance(value, Mapping) and part in value:
        return value[part]
    raise TemplateError(f"{word} has no value")


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, Mapping):
        if key in value:
            return value[key]
        raise TemplateError(f"index: no key {key!r}")
    if isinstance(value, list) and isinstance(key, int):
        if -len(value) <= key < len(value) and key >= 0:
            return value[key]
        raise TemplateError(f"index {key} out of range")
    raise TemplateError("index of something that is not a map or a list")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else _scalar_text(value)
