"""The plan cache on disk: `waves/<name>/plan-cache.json`, and the inputs it is keyed by.

Reads what a rollout's plan is computed from, as bytes, without git history or YAML: the
inventory files and the policy file from the working tree (the same files
`planner.api.rollouts` plans with), the `origin` remote's URL (`git config`), and the
tool's own code. `planner.plancache` turns them into a `Fingerprint`. The cache file is
written atomically next to the state and committed with it, so a fresh clone (a CI job
running `advance --if-ready`) takes the fast path too.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass
from pathlib import Path

from planner import plancache
from planner.adapters import files, gitrepo, rolloutrepo
from planner.release.model import Inputs

CACHE_FILE = "plan-cache.json"


@dataclass(frozen=True)
class InputBytes:
    """The rollout's inputs as read from the working tree."""

    inventory: dict[str, bytes]  # repository-relative path -> bytes
    policy: bytes | None  # None: the built-in policy
    origin: str | None


def path(root: Path, name: str) -> Path:
    return rolloutrepo.folder(root, name) / CACHE_FILE


def inventory_files(root: Path, rel: str) -> dict[str, bytes]:
    """The inventory file, or every YAML file below the inventory folder (sorted)."""
    where = root / rel
    if where.is_dir():
        found = sorted(p for p in where.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        return {p.relative_to(root).as_posix(): files.read_input(p, "--inventory") for p in found}
    return {rel: files.read_input(where, "--inventory")}


def read_inputs(root: Path, inputs: Inputs, *, policy_file: Path | None = None) -> InputBytes:
    """The inventory and policy bytes and the origin URL (`policy_file`: read the policy from
    there, as `rollout start` does before copying a policy from outside the repository)."""
    where = policy_file or (root / inputs.policy if inputs.policy is not None else None)
    policy = files.read_input(where, "--policy") if where is not None else None
    return InputBytes(inventory_files(root, inputs.inventory), policy, origin_url(root))


def fingerprint(base: str, head: str, data: InputBytes) -> plancache.Fingerprint:
    return plancache.Fingerprint(
        tool=plancache.tool_version(code_digest()),
        base=base,
        head=head,
        inventory=plancache.digest_files(data.inventory),
        policy=plancache.digest_bytes(data.policy),
        origin=data.origin,
    )


def origin_url(root: Path) -> str | None:
    """`remote.origin.url` as git reads it (includes and all), or None."""
    return gitrepo.config_value(root, "remote.origin.url")


@functools.cache
def code_digest() -> str:
    """sha256 over the tool's own source files: any change to the planner is a new tool.

    Walked with `os.walk` and plain strings (every command pays for it): the same files and
    keys as `rglob("*.py")` relative to the package, outside any `demo` folder."""
    package = os.path.dirname(os.path.realpath(plancache.__file__))
    sources: dict[str, bytes] = {}
    for folder, subfolders, names in os.walk(package):
        rel = os.path.relpath(folder, package)
        parts = [] if rel == "." else rel.split(os.sep)
        if "demo" in parts:
            subfolders.clear()
            continue
        for name in names:
            if name.endswith(".py"):
                with open(os.path.join(folder, name), "rb") as source:
                    sources["/".join([*parts, name])] = source.read()
    return plancache.digest_files(sources)[:16] if sources else "unknown"


def read(root: Path, name: str) -> plancache.PlanCache | None:
    """The recorded cache, or None (absent, unreadable, another format: recompute)."""
    try:
        data = path(root, name).read_bytes()
    except OSError:
        return None
    return plancache.load(data)


def write(root: Path, name: str, cache: plancache.PlanCache) -> list[str]:
    """Write the cache when its bytes change; the repository-relative path, if written."""
    target = path(root, name)
    data = plancache.dump(cache)
    try:
        if target.read_bytes() == data:
            return []
    except OSError:
        pass
    files.atomic_write(target, data)
    return [rolloutrepo.relative(root, target)]
