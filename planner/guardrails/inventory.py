"""Inventory hygiene: unlisted cluster folders, unknown label keys (with typo suggestions)
and API servers shared by several clusters. Pure.
"""

from __future__ import annotations

import difflib

from planner import snapshot as snap_mod
from planner.findings import Finding
from planner.globs import glob_match
from planner.guardrails.context import Context, name_list
from planner.hierarchy.scopes import Scope
from planner.snapshot import Snapshot


def inventory_findings(ctx: Context) -> list[Finding]:
    """Unlisted cluster folders, unknown label keys and shared API servers."""
    findings: list[Finding] = []
    findings += _unlisted_folders(ctx)
    findings += _unknown_keys(ctx)
    findings += _shared_servers(ctx)
    return findings


def _unlisted_folders(ctx: Context) -> list[Finding]:
    listed = {snap_mod.normalize(c.gitops_path) for c in ctx.inventory.clusters}
    patterns = [r.pattern.strip("/") for r in ctx.policy.scopes if r.scope == Scope.CLUSTER]
    folders: set[str] = set()
    for pattern in patterns:
        folders |= _matching_dirs(ctx.snapshot, pattern.split("/"))
    return [
        Finding(
            code="unlisted-cluster-folder",
            severity="warning",
            message=f"{folder} looks like a cluster folder but no inventory cluster uses it",
            file=folder,
            fix="add the cluster to the inventory or remove the folder",
        )
        for folder in sorted(folders - listed)
        if not any(p.startswith(folder + "/") for p in listed)
    ]


def _matching_dirs(snap: Snapshot, pattern: list[str], base: str = ".") -> set[str]:
    if not pattern:
        return {base}
    subdirs, _ = snap.list_dir(base)
    found: set[str] = set()
    for sub in subdirs:
        if glob_match(pattern[0], sub.rsplit("/", 1)[-1]):
            found |= _matching_dirs(snap, pattern[1:], sub)
    return found


def _unknown_keys(ctx: Context) -> list[Finding]:
    known = set(ctx.policy.identity.known_labels)
    for wave in ctx.policy.waves:
        for selector in wave.selectors():
            known |= {r.key for r in selector.requirements()}
        if wave.group_by:
            known.add(wave.group_by)
    for rule in ctx.policy.identity.rules:
        known |= set(rule.require) | ({rule.label} if rule.label else set())
    known |= {c.label for c in ctx.policy.constraints}
    roles = ctx.policy.labels
    candidates = sorted(
        known
        | {
            k
            for role in ("environment", "region", "compliance", "wave")
            for k in roles.keys_for(role)
        }
    )
    findings = []
    used: dict[str, list[str]] = {}
    for cluster in ctx.inventory.clusters:
        for key in cluster.labels:
            if key not in known and not roles.is_known(key):
                used.setdefault(key, []).append(cluster.name)
    for key, names in sorted(used.items()):
        prefix, _, leaf = key.rpartition("/")
        close = difflib.get_close_matches(key, candidates, n=1, cutoff=0.75) or [
            f"{prefix}/{m}" if prefix and "/" not in m else m
            for m in difflib.get_close_matches(leaf, candidates, n=1, cutoff=0.75)
        ]
        hint = f"did you mean {close[0]!r}?" if close else "list it in identity.known_labels"
        findings.append(
            Finding(
                code="unknown-label-key",
                severity="warning",
                message=f"label key {key!r} is used by {name_list(sorted(names))} "
                f"but nothing reads it; {hint}",
                cluster=names[0] if len(names) == 1 else None,
                fix=hint,
            )
        )
    return findings


def _shared_servers(ctx: Context) -> list[Finding]:
    by_server: dict[str, list[str]] = {}
    for cluster in ctx.inventory.clusters:
        if cluster.server:
            by_server.setdefault(cluster.server, []).append(cluster.name)
    return [
        Finding(
            code="duplicate-server",
            severity="violation",
            message=f"clusters {', '.join(names)} share the API server {server}",
            values={"server": server},
            fix="each cluster has its own API server: fix the copied entry",
        )
        for server, names in sorted(by_server.items())
        if len(names) > 1
    ]
