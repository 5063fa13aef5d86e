"""Clusters grouped by the effect of a change: one diff per distinct effect.

A base change reaches thousands of clusters, and almost all of them see the same edit. Two
clusters are in one group when their rendered diffs (`planner.render_diff`) are identical,
or identical once each cluster's identity is set aside: every occurrence of the cluster's
own name, GitOps path, API server and label values is replaced by a placeholder
(`${name}`, `${path}`, `${server}`, `${labels.<key>}`), longest value first, only where it
stands alone (not inside a longer word). Values that would say nothing as placeholders are
never substituted: shorter than 3 characters, numbers, and YAML words such as `true`.

A group's `diff` is the raw diff when all its clusters have exactly that diff, else the diff
with placeholders. Its `id` is a content hash of that diff, so the same effect keeps its id
from one run to the next. Groups are listed largest first. Pure and deterministic.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from planner.inventory import Cluster, LabelRoles
from planner.render_diff import Change, ClusterDiff

_Objects = tuple[tuple[str, Change], ...]
_General = tuple[str, tuple[str, ...], _Objects]

MIN_VALUE = 3
_WORDS = frozenset({"true", "false", "yes", "no", "on", "off", "null", "none", "y", "n"})
_NUMBER = re.compile(r"^[0-9.eE+-]+$")


class ObjectChange(BaseModel):
    """One object of a group's diff."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    object: str = Field(description="Kind/namespace/name (Kind/name when cluster-scoped).")
    change: Literal["added", "removed", "changed"]


class DiffGroup(BaseModel):
    """Clusters whose rendered change is the same edit (precise mode)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(description="Content hash of `diff` (stable across runs).")
    clusters: tuple[str, ...] = Field(description="The clusters of the group (sorted).")
    objects: tuple[ObjectChange, ...]
    diff: str = Field(
        description="Unified diff of the canonical rendered objects; identity values as "
        "placeholders (${name}, ${path}, ${server}, ${labels.KEY}) when they differ."
    )
    placeholders: tuple[str, ...] = Field(
        default=(), description="The placeholders `diff` uses (empty: an exact diff)."
    )
    regions: tuple[str, ...] = Field(
        default=(), description="Region label values of the group's clusters (sorted)."
    )


# ----------------------------------------------------------------------- identities


def identity_values(cluster: Cluster) -> list[tuple[str, str]]:
    """(value, placeholder) pairs of a cluster's identity, longest value first."""
    pairs = [(cluster.name, "${name}"), (cluster.gitops_path, "${path}")]
    if cluster.server:
        pairs.append((cluster.server, "${server}"))
    pairs += [(value, f"${{labels.{key}}}") for key, value in sorted(cluster.labels.items())]
    seen: set[str] = set()
    out = []
    for value, placeholder in pairs:
        if value in seen or not _meaningful(value):
            continue
        seen.add(value)
        out.append((value, placeholder))
    return sorted(out, key=lambda p: (-len(p[0]), p[0]))


def _meaningful(value: str) -> bool:
    return (
        len(value) >= MIN_VALUE
        and value.lower() not in _WORDS
        and not _NUMBER.match(value)
        and "\n" not in value
    )


# kustomize's generator suffix (`cluster-identity-8855dftcdk`): in a context line it names
# an object of the cluster's own (hashed from its identity), not part of the edit.
_HASH_SUFFIX = re.compile(r"-[bcdfghjklmnpqrstvwxz2456789]{10}(?![A-Za-z0-9])")
HASH = "${hash}"


def _context_hashes(text: str) -> tuple[str, bool]:
    """Generated-name hash suffixes in unchanged (context) lines as `-${hash}`."""
    if not _HASH_SUFFIX.search(text):
        return text, False
    lines = text.split("\n")
    found = False
    for i, line in enumerate(lines):
        if line.startswith(" ") and _HASH_SUFFIX.search(line):
            lines[i] = _HASH_SUFFIX.sub("-" + HASH, line)
            found = True
    return "\n".join(lines), found


def generalize(text: str, values: Sequence[tuple[str, str]]) -> tuple[str, tuple[str, ...]]:
    """`text` with each identity value standing alone replaced by its placeholder, and the
    generated-name hash suffixes of context lines by `${hash}`."""
    text, hashed = _context_hashes(text)
    used: set[str] = {HASH} if hashed else set()
    spans: list[tuple[int, int, str]] = []
    taken = bytearray(len(text))
    for value, placeholder in values:  # longest first: a longer value wins an overlap
        at = text.find(value)
        while at != -1:
            end = at + len(value)
            if (
                (at == 0 or not _word(text[at - 1]))
                and (end == len(text) or not _word(text[end]))
                and not any(taken[at:end])
            ):
                taken[at:end] = b"\x01" * (end - at)
                spans.append((at, end, placeholder))
                used.add(placeholder)
            at = text.find(value, at + 1)
    if not spans:
        return text, tuple(sorted(used))
    out: list[str] = []
    last = 0
    for at, end, placeholder in sorted(spans):
        out += [text[last:at], placeholder]
        last = end
    out.append(text[last:])
    return "".join(out), tuple(sorted(used))


def _word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


# --------------------------------------------------------------------------- groups


class _Sets:
    """Union-find over cluster names."""

    def __init__(self, names: Sequence[str]) -> None:
        self.parent = {n: n for n in names}

    def find(self, name: str) -> str:
        while self.parent[name] != name:
            self.parent[name] = self.parent[self.parent[name]]
            name = self.parent[name]
        return name

    def union(self, a: str, b: str) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra != rb:
            self.parent[max(ra, rb)] = min(ra, rb)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def group_diffs(
    diffs: Mapping[str, ClusterDiff],
    clusters: Mapping[str, Cluster],
    roles: LabelRoles | None = None,
) -> list[DiffGroup]:
    """The clusters' diffs grouped by effect, largest group first."""
    names = sorted(diffs)
    sets = _Sets(names)
    raw_first: dict[str, str] = {}
    general: dict[str, _General] = {}
    general_first: dict[str, str] = {}
    for name in names:
        diff = diffs[name]
        raw = _digest(diff.text)
        sets.union(raw_first.setdefault(raw, name), name)
        cluster = clusters.get(name)
        values = identity_values(cluster) if cluster is not None else []
        text, used = generalize(diff.text, values)
        objects = tuple((generalize(obj, values)[0], change) for obj, change in diff.objects)
        general[name] = (text, used, objects)
        sets.union(general_first.setdefault(_digest(text), name), name)
    members: dict[str, list[str]] = {}
    for name in names:
        members.setdefault(sets.find(name), []).append(name)
    groups = [_group(m, diffs, general, clusters, roles) for m in members.values()]
    groups = _unique_ids(groups)
    return sorted(groups, key=lambda g: (-len(g.clusters), g.id))


def _group(
    members: list[str],
    diffs: Mapping[str, ClusterDiff],
    general: Mapping[str, _General],
    clusters: Mapping[str, Cluster],
    roles: LabelRoles | None,
) -> DiffGroup:
    first = members[0]
    text: str
    used: tuple[str, ...]
    objects: _Objects
    if len({diffs[m].text for m in members}) == 1:
        text, used, objects = diffs[first].text, (), diffs[first].objects
    else:
        counts: dict[str, int] = {}
        for m in members:
            counts[general[m][0]] = counts.get(general[m][0], 0) + 1
        best = min(counts, key=lambda t: (-counts[t], t))
        chosen = next(m for m in members if general[m][0] == best)
        text, used, objects = _shared_values_back(general[chosen], members, clusters)
    regions = sorted(
        {
            value
            for m in members
            if m in clusters and roles is not None
            for value in [roles.value(clusters[m].labels, "region")]
            if value is not None
        }
    )
    return DiffGroup(
        id=_digest(text)[:12],
        clusters=tuple(members),
        objects=tuple(ObjectChange(object=obj, change=change) for obj, change in objects),
        diff=text,
        placeholders=used,
        regions=tuple(regions),
    )


def _shared_values_back(
    general: _General, members: Sequence[str], clusters: Mapping[str, Cluster]
) -> _General:
    """A placeholder whose value is the same for every member reads as that value (all the
    group's clusters are in `dev`: `ENVIRONMENT: dev`, not `${labels.environment}`)."""
    text, used, objects = general
    own = {
        m: {p: v for v, p in identity_values(clusters[m])} if m in clusters else {} for m in members
    }
    kept = []
    for placeholder in used:
        values = {own[m].get(placeholder) for m in members}
        value = values.pop() if len(values) == 1 else None
        if placeholder == HASH or value is None:
            kept.append(placeholder)
            continue
        text = text.replace(placeholder, value)
        objects = tuple((obj.replace(placeholder, value), change) for obj, change in objects)
    return text, tuple(kept), objects


def _unique_ids(groups: list[DiffGroup]) -> list[DiffGroup]:
    """Two groups with the same shown diff (rare: a raw diff that reads like a generalized
    one) get ids told apart by their first cluster."""
    seen: dict[str, int] = {}
    for g in groups:
        seen[g.id] = seen.get(g.id, 0) + 1
    return [
        g
        if seen[g.id] == 1
        else g.model_copy(update={"id": _digest(g.diff + "\n" + g.clusters[0])[:12]})
        for g in groups
    ]


def group_of(groups: Sequence[DiffGroup]) -> dict[str, str]:
    """Cluster name -> its group id."""
    return {name: g.id for g in groups for name in g.clusters}
