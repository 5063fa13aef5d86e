"""Rendered states: the canonical form of a cluster's rendered objects and the change
between base and head (documents parsed, canonical JSON, sorted; objects added, removed and
changed). Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from planner import yamlsafe
from planner.plan import RenderSummary
from planner.precise.units import RenderOutput, Unit
from planner.render_diff import ObjectId, group_objects, object_name
from planner.snapshot import Snapshot

MAX_LISTED = 50


# -------------------------------------------------------------------------- states


@dataclass(frozen=True)
class State:
    """A cluster's rendered desired state at one revision."""

    status: Literal["ok", "absent", "error"]
    objects: tuple[tuple[ObjectId, str], ...] = ()  # (identity, canonical JSON), sorted
    error: str | None = None


def canonical(tag: str, doc: Any) -> str:
    return json.dumps({"from": tag, "doc": doc}, sort_keys=True, separators=(",", ":"), default=str)


# kustomize's generator suffix: a ConfigMap or Secret whose content changed gets a new name.
_HASH_SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}$")


def identity(doc: Any) -> ObjectId:
    """Kind, namespace and name (a generated name's hash suffix shown as `-*`, so an edited
    ConfigMap reads as changed rather than removed and added)."""
    if not isinstance(doc, Mapping):
        return ("(document)", "", "")
    meta = doc.get("metadata")
    meta = meta if isinstance(meta, Mapping) else {}
    kind = str(doc.get("kind", "") or "")
    name = str(meta.get("name", "") or "")
    if kind in ("ConfigMap", "Secret"):
        name = _HASH_SUFFIX.sub("-*", name)
    return (kind, str(meta.get("namespace", "") or ""), name)


def unit_objects(
    unit: Unit, output: RenderOutput | None, snap: Snapshot
) -> tuple[list[tuple[ObjectId, str]], str | None]:
    """The objects one unit contributes to a cluster's state, or why it cannot say."""
    tag = unit.path
    if unit.error is not None:
        return [], f"{unit.path}: {unit.error}"
    if unit.kind in ("kustomize", "generated") and unit.remote:
        return [], f"{unit.path}: remote resource {unit.remote[0]} is not fetched"
    if unit.kind == "files":
        return [(("(files)", "", unit.path), canonical(tag, {"files": unit.files}))], None
    if unit.kind == "missing":
        return [(("(missing)", "", unit.path), canonical(tag, None))], None
    if unit.kind == "manifests":
        data = snap.read_many(p for p, _ in unit.files)
        docs: list[Any] = []
        for path, _ in unit.files:
            try:
                docs.extend(yamlsafe.load_all(data.get(path, b"")))
            except yamlsafe.YamlError as exc:
                return [], f"{path}: {exc}"
        return [(identity(d), canonical(tag, d)) for d in docs], None
    if output is None or output.text is None:
        error = output.error if output is not None else "not rendered"
        return [], f"{unit.path}: {error}"
    try:
        rendered = yamlsafe.load_all(output.text.encode())
    except yamlsafe.YamlError as exc:
        return [], f"{unit.path}: cannot parse the rendered output: {exc}"
    return [(identity(d), canonical(tag, d)) for d in rendered], None


def cluster_state(
    units: Sequence[Unit] | None, outputs: Mapping[str, RenderOutput], snap: Snapshot
) -> State:
    if units is None or (units and units[0].kind == "missing"):
        return State(status="absent")
    objects: list[tuple[ObjectId, str]] = []
    for unit in units:
        found, error = unit_objects(unit, outputs.get(unit.key), snap)
        if error is not None:
            return State(status="error", error=error)
        objects.extend(found)
    return State(status="ok", objects=tuple(sorted(objects)))


def compare(base: State, head: State) -> RenderSummary | None:
    """The objects added, removed and changed; None when the rendered state is the same."""
    errors = [f"at {side}: {st.error}" for side, st in (("base", base), ("head", head)) if st.error]
    if errors:
        return RenderSummary(failed="; ".join(errors))
    if base.status == head.status and base.objects == head.objects:
        return None
    old, new = group_objects(base.objects), group_objects(head.objects)
    added = sorted(object_name(i) for i in new.keys() - old.keys())
    removed = sorted(object_name(i) for i in old.keys() - new.keys())
    changed = sorted(object_name(i) for i in old.keys() & new.keys() if old[i] != new[i])
    lists, omitted = _capped([added, removed, changed])
    return RenderSummary(added=lists[0], removed=lists[1], changed=lists[2], omitted=omitted)


def _capped(lists: list[list[str]]) -> tuple[list[tuple[str, ...]], int]:
    budget = MAX_LISTED
    out: list[tuple[str, ...]] = []
    omitted = 0
    for names in lists:
        out.append(tuple(names[:budget]))
        omitted += max(0, len(names) - budget)
        budget = max(0, budget - len(names))
    return out, omitted
