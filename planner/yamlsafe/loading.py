"""Reading YAML with limits: the only way the planner turns bytes into data.

Everything the planner reads (inventories, policies, kustomizations, manifests in the repo
under review) is untrusted. This module owns the rules that keep loading safe and fast:
safe-load only (no object construction), PyYAML's C parser when present, strict UTF-8, a size
limit, a nesting-depth limit checked before the recursive composer runs, a budget against
alias bombs, duplicate keys rejected in configuration files, and dates kept as strings (as
Kubernetes does). It raises `YamlError`, which callers turn into a user error (configuration
files) or a plan violation (files in the repository under review).

Plain block YAML (what nearly every kustomization and inventory is) is read line by line by
`planner.yamlsafe.plain`, with the same resolvers and the same values; every other text, and
any text that module declines, goes through PyYAML.
"""

from __future__ import annotations

import operator
import re
from typing import Any, ClassVar

import yaml

from planner.yamlsafe import plain

MAX_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 200
MAX_NODES = 5_000_000

_BaseLoader: type[yaml.SafeLoader]
try:  # pragma: no branch - the C loader ships with PyYAML wheels
    _BaseLoader = yaml.CSafeLoader  # type: ignore[assignment]
except AttributeError:  # pragma: no cover
    _BaseLoader = yaml.SafeLoader


class YamlError(Exception):
    """A YAML text that cannot be loaded safely; `line` is 1-based when known."""

    def __init__(self, message: str, line: int | None = None) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}" if line else message)


def without_timestamps(loader: type[yaml.SafeLoader]) -> None:
    loader.yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_STR_TAG = "tag:yaml.org,2002:str"
_SEQ_TAG = "tag:yaml.org,2002:seq"
_MAP_TAG = "tag:yaml.org,2002:map"
_Y = "tag:yaml.org,2002:"
_SCALAR, _SEQUENCE = yaml.ScalarNode, yaml.SequenceNode


class _Fallback(Exception):
    """The fast constructor met something only the full constructor handles."""


class _Loader(_BaseLoader):  # type: ignore[valid-type,misc]
    """Safe loader, dates kept as strings.

    Fleets are plain data: maps, lists and strings, repeated over thousands of files. Three
    shortcuts make loading them more than twice as fast and give exactly SafeLoader's result
    (tests compare both): a plain scalar's tag depends only on its text, so it is resolved
    once per distinct text; path resolvers, never registered here, cost no call per node;
    and a document of plain maps, lists and scalars is built directly, while anything else
    (merge keys, explicit tags, recursive aliases) goes through the full constructor.
    """

    _resolved: ClassVar[dict[str, str]] = {}
    _strict = False

    # PyYAML's composer calls these two around every node, for path resolvers, which these
    # loaders never register: C callables of the same arity that do nothing stand in for
    # two Python calls per node.
    descend_resolver = staticmethod(operator.is_)  # (parent, index): ignored
    ascend_resolver = staticmethod(tuple)  # (): ignored

    def resolve(self, kind: Any, value: Any, implicit: Any) -> Any:
        if kind is _SCALAR:
            if not implicit[0]:
                return _STR_TAG  # not a plain scalar: a string (BaseResolver, no path rules)
            tag = self._resolved.get(value)
            if tag is None:
                tag = super().resolve(kind, value, implicit)
                if len(self._resolved) < 200_000:
                    self._resolved[value] = tag
            return tag
        return _SEQ_TAG if kind is _SEQUENCE else _MAP_TAG

    def construct_document(self, node: yaml.Node) -> Any:
        try:
            return self._fast(node, {})
        except _Fallback:
            return super().construct_document(node)

    def _fast(self, node: yaml.Node, made: dict[int, Any]) -> Any:
        tag = node.tag
        if isinstance(node, yaml.ScalarNode):
            if tag == _STR_TAG:
                return node.value
            if tag == _Y + "null":
                return None
            if tag in (_Y + "bool", _Y + "int", _Y + "float"):
                return self.yaml_constructors[tag](self, node)
            raise _Fallback
        key = id(node)
        if key in made:
            if made[key] is _Fallback:
                raise _Fallback  # a recursive alias
            return made[key]
        made[key] = _Fallback
        if isinstance(node, yaml.SequenceNode) and tag == _Y + "seq":
            value: Any = [self._fast(item, made) for item in node.value]
        elif isinstance(node, yaml.MappingNode) and tag == _Y + "map":
            value = {}
            for key_node, value_node in node.value:
                if key_node.tag == _Y + "merge":
                    raise _Fallback
                item = self._fast(key_node, made)
                try:
                    duplicate = item in value
                except TypeError:
                    raise _Fallback from None  # an unhashable key: let the full one say so
                if duplicate and self._strict:
                    raise YamlError(f"duplicate key {item!r}", key_node.start_mark.line + 1)
                value[item] = self._fast(value_node, made)
        else:
            raise _Fallback
        made[key] = value
        return value


class _StrictLoader(_Loader):
    """Safe loader that also rejects duplicate mapping keys."""

    _strict = True

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            if key_node.tag == _STR_TAG and isinstance(key_node, yaml.ScalarNode):
                key = key_node.value  # a string key is its text: no need to construct it twice
            else:
                key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
                seen.add(key)
            except TypeError:
                continue
            if duplicate:
                raise YamlError(f"duplicate key {key!r}", key_node.start_mark.line + 1)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


without_timestamps(_Loader)
without_timestamps(_StrictLoader)

_DEEP_INDENT = re.compile(rb"^[ \t-]{%d,}" % MAX_DEPTH, re.MULTILINE)


def decode(data: bytes) -> str:
    """Strict UTF-8 (a BOM is allowed), as Kubernetes tooling expects."""
    try:
        text = data.decode()  # the C codec; "utf-8-sig" is a Python one (one BOM dropped)
        return text[1:] if text.startswith("\ufeff") else text
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("utf-8-sig")  # the same failure, named as ever
    except UnicodeDecodeError as exc:
        raise YamlError(
            f"not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        ) from None


def _check_depth(text: str) -> None:
    """Walk parser events (iterative, in C) and stop before the recursive composer can."""
    depth = 0
    try:
        for event in yaml.parse(text, Loader=_Loader):
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    line = event.start_mark.line + 1 if event.start_mark else None
                    raise YamlError(f"nested deeper than {MAX_DEPTH} levels", line)
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None


def _count_nodes(value: Any, budget: int) -> int:
    """The size of the loaded value as a consumer would see it, aliases expanded.

    Shared (aliased) collections are measured once and their expanded size reused, so an
    alias bomb is refused in time proportional to its text, not to its expansion. Aliases
    can also build nesting the text does not show (`b: &b [*a]`, `c: &c [*b]`, ...) or a
    collection that contains itself, so depth and recursion are checked here too.
    """
    sizes: dict[int, tuple[int, int]] = {}  # id -> (expanded nodes, depth)
    open_ids: set[int] = set()
    stack: list[tuple[Any, bool]] = [(value, False)]
    while stack:
        item, done = stack.pop()
        if not isinstance(item, dict | list):
            continue
        key = id(item)
        children = [*item.keys(), *item.values()] if isinstance(item, dict) else item
        if done:
            open_ids.discard(key)
            nodes, depth = 1, 1
            for child in children:
                child_nodes, child_depth = sizes.get(id(child), (1, 0))
                nodes += child_nodes
                depth = max(depth, child_depth + 1)
            if nodes > budget:
                raise YamlError(f"expands to more than {MAX_NODES} nodes (alias bomb?)")
            if depth > MAX_DEPTH:
                raise YamlError(f"nested deeper than {MAX_DEPTH} levels (through aliases)")
            sizes[key] = (nodes, depth)
            continue
        if key in sizes:
            continue
        if key in open_ids:
            raise YamlError("an alias refers to a collection that contains it (recursive)")
        open_ids.add(key)
        stack.append((item, True))
        stack.extend((child, False) for child in children if isinstance(child, dict | list))
    return budget - (sizes[id(value)][0] if isinstance(value, dict | list) else 1)


def _yaml_error(exc: yaml.YAMLError) -> YamlError:
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    return YamlError(str(problem).strip(), mark.line + 1 if mark is not None else None)


def _precheck(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise YamlError(f"larger than {MAX_BYTES // (1024 * 1024)} MiB")
    text = decode(data)
    brackets = data.count(b"[") + data.count(b"{")
    if brackets > MAX_DEPTH or _DEEP_INDENT.search(data):
        _check_depth(text)
    return text


def load_all(data: bytes, *, strict: bool = False) -> list[Any]:
    """Every document of a YAML stream (empty documents dropped)."""
    text = _precheck(data)
    loader = _StrictLoader if strict else _Loader
    docs = plain.load(text, loader, strict=strict)
    if docs is not None:
        return docs
    try:
        docs = [doc for doc in yaml.load_all(text, Loader=loader) if doc is not None]
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from None
    except RecursionError:
        raise YamlError(f"nested deeper than {MAX_DEPTH} levels") from None
    if b"&" in data and b"*" in data:
        budget = MAX_NODES
        for doc in docs:
            budget = _count_nodes(doc, budget)
    return docs


def load_one(data: bytes, *, strict: bool = False) -> Any:
    """A single-document YAML text (None when empty)."""
    docs = load_all(data, strict=strict)
    if len(docs) > 1:
        raise YamlError(f"expected one YAML document, found {len(docs)}")
    return docs[0] if docs else None
