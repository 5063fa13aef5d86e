"""The parse floor: the least work any planner must do to read a fleet at one commit.

One ``git ls-tree -r -z REV``, then one ``git cat-file --batch`` process fed the object
ids of every kustomization file (``kustomization.yaml``, ``kustomization.yml``,
``Kustomization``) and of the inventory, reading every blob and parsing each with
``yaml.load(..., Loader=yaml.CSafeLoader)``. Nothing else: no path resolution, no
graph, no diff. A planner that is close to this number is bound by I/O and YAML parsing.

Usage::

    python benchmarks/parse_floor.py --repo DIR --rev REV --inventory clusters.yaml

Prints one JSON line: ``{"files": <blobs parsed>, "seconds": <wall time>}``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["KUSTOMIZATION_FILES", "ParseFloorResult", "main", "parse_floor"]

KUSTOMIZATION_FILES = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})


@dataclass(frozen=True)
class ParseFloorResult:
    files: int
    seconds: float


def _run_git(repo: Path, *args: str, stdin: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], check=False, input=stdin, capture_output=True
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"git {' '.join(args)} failed ({proc.returncode}): "
            f"{proc.stderr.decode(errors='replace').strip()}"
        )
    return proc.stdout


def _wanted_oids(listing: bytes, inventory: str) -> list[bytes]:
    """Object ids of kustomization blobs and the inventory from ``ls-tree -r -z``."""
    oids: list[bytes] = []
    found_inventory = False
    inventory_b = inventory.encode()
    for entry in listing.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        _mode, otype, oid = meta.split(b" ")
        if otype != b"blob":
            continue
        if path == inventory_b:
            found_inventory = True
            oids.append(oid)
        elif path.rpartition(b"/")[2].decode() in KUSTOMIZATION_FILES:
            oids.append(oid)
    if not found_inventory:
        raise FileNotFoundError(f"inventory {inventory!r} not found in tree")
    return oids


def _parse_batch(output: bytes, expected: int) -> int:
    """Parse every blob in ``cat-file --batch`` output; return how many were parsed."""
    pos = 0
    parsed = 0
    end = len(output)
    while pos < end:
        nl = output.index(b"\n", pos)
        header = output[pos:nl].split(b" ")
        if len(header) != 3:
            raise RuntimeError(f"cat-file: {output[pos:nl].decode(errors='replace')}")
        size = int(header[2])
        start = nl + 1
        yaml.load(output[start : start + size], Loader=yaml.CSafeLoader)
        parsed += 1
        pos = start + size + 1  # blob content is followed by a newline
    if parsed != expected:
        raise RuntimeError(f"cat-file returned {parsed} objects, expected {expected}")
    return parsed


def parse_floor(repo: Path, rev: str, inventory: str = "clusters.yaml") -> ParseFloorResult:
    """Read and parse every kustomization file plus the inventory at ``rev``."""
    start = time.perf_counter()
    listing = _run_git(repo, "ls-tree", "-r", "-z", "--full-tree", rev)
    oids = _wanted_oids(listing, inventory.lstrip("/"))
    batch = _run_git(repo, "cat-file", "--batch", stdin=b"".join(o + b"\n" for o in oids))
    files = _parse_batch(batch, len(oids))
    return ParseFloorResult(files=files, seconds=time.perf_counter() - start)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Time reading and parsing every kustomization file and the inventory."
    )
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR")
    parser.add_argument("--rev", default="HEAD", metavar="REV")
    parser.add_argument(
        "--inventory",
        default="clusters.yaml",
        metavar="PATH",
        help="inventory path inside the repository (default: clusters.yaml)",
    )
    args = parser.parse_args(argv)
    try:
        result = parse_floor(args.repo, args.rev, args.inventory)
    except (RuntimeError, FileNotFoundError, yaml.YAMLError) as exc:
        print(f"parse_floor: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({"files": result.files, "seconds": round(result.seconds, 4)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
