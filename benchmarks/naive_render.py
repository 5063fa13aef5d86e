"""The naive alternative: render every cluster at base and head and compare.

This is what a user would script without a planner: materialize both commits with
``git archive REV | tar -x`` into temporary directories, then for every cluster in the
inventory run ``kubectl kustomize clusters/<name>`` in both trees and compare the
outputs byte for byte (a failed render compares by its exit code and error text).

``--sample K`` renders only K clusters, spread evenly over the inventory sorted by
name, and extrapolates linearly: ``seconds_extrapolated = setup + render * clusters /
sampled``, where ``setup`` is the time spent materializing both trees and reading the
inventory, and ``render`` is the time spent rendering the sampled clusters.
``seconds_measured`` also covers deleting the temporary trees. Both trees go under
``$TMPDIR``; materializing tens of thousands of files is disk-bound, so point
``TMPDIR`` at a tmpfs (``/dev/shm``) to keep ``seconds_setup`` stable.

Usage::

    python benchmarks/naive_render.py --repo DIR --base REV --head REV \\
        [--inventory clusters.yaml] [--sample K] [--kubectl kubectl]

``--head`` defaults to ``HEAD`` and ``--base`` to ``<head>^``. Prints one JSON line:
``{"clusters", "sampled", "seconds_measured", "seconds_extrapolated", "seconds_setup",
"changed"}``, where ``changed`` counts the rendered clusters whose output differs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

__all__ = ["NaiveRenderResult", "main", "naive_render", "pick_sample"]


@dataclass(frozen=True)
class NaiveRenderResult:
    clusters: int
    sampled: int
    seconds_measured: float
    seconds_extrapolated: float
    seconds_setup: float
    changed: int
    changed_names: tuple[str, ...]


def _materialize(repo: Path, rev: str, dest: Path) -> None:
    """``git archive REV | tar -x -C dest``."""
    dest.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryFile() as err,
        subprocess.Popen(
            ["git", "-C", str(repo), "archive", "--format=tar", rev],
            stdout=subprocess.PIPE,
            stderr=err,
        ) as archive,
    ):
        tar = subprocess.run(
            ["tar", "-x", "-C", str(dest)],
            stdin=archive.stdout,
            check=False,
            capture_output=True,
        )
        if archive.stdout is not None:
            archive.stdout.close()
        if archive.wait() != 0:
            err.seek(0)
            msg = err.read().decode(errors="replace").strip()
            raise RuntimeError(f"git archive {rev} failed: {msg}")
    if tar.returncode != 0:
        raise RuntimeError(f"tar -x failed: {tar.stderr.decode(errors='replace').strip()}")


def _inventory_names(path: Path) -> list[str]:
    if not path.is_file():
        return []
    with path.open("rb") as fh:
        doc = yaml.load(fh, Loader=yaml.CSafeLoader)
    entries = doc.get("clusters", []) if isinstance(doc, dict) else []
    names: list[str] = []
    for entry in entries or []:
        if isinstance(entry, dict) and isinstance(entry.get("name"), str):
            names.append(entry["name"])
    return names


def pick_sample(names: Sequence[str], k: int | None) -> list[str]:
    """Deterministic, evenly spread sample of ``k`` names (all when ``k`` is None)."""
    ordered = sorted(set(names))
    if k is None or k >= len(ordered):
        return ordered
    if k <= 0:
        return []
    step = len(ordered) / k
    return [ordered[int(i * step + step / 2)] for i in range(k)]


def _render(kubectl: Sequence[str], tree: Path, name: str) -> tuple[int, bytes]:
    target = tree / "clusters" / name
    if not target.is_dir():
        return (-1, b"missing " + str(Path("clusters") / name).encode())
    proc = subprocess.run([*kubectl, str(target)], check=False, capture_output=True)
    if proc.returncode != 0:
        # Error text names the temp directory; strip it so both sides compare.
        return (proc.returncode, proc.stderr.replace(str(tree).encode(), b"<tree>"))
    return (0, proc.stdout)


def naive_render(
    repo: Path,
    base: str,
    head: str,
    *,
    inventory: str = "clusters.yaml",
    sample: int | None = None,
    kubectl: Sequence[str] = ("kubectl", "kustomize"),
) -> NaiveRenderResult:
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="naive-render-") as tmp:
        base_dir = Path(tmp) / "base"
        head_dir = Path(tmp) / "head"
        _materialize(repo, base, base_dir)
        _materialize(repo, head, head_dir)
        names = sorted(
            set(_inventory_names(head_dir / inventory))
            | set(_inventory_names(base_dir / inventory))
        )
        chosen = pick_sample(names, sample)
        setup = time.perf_counter() - start

        render_start = time.perf_counter()
        changed = [
            name
            for name in chosen
            if _render(kubectl, base_dir, name) != _render(kubectl, head_dir, name)
        ]
        render = time.perf_counter() - render_start
    measured = time.perf_counter() - start  # includes deleting the temporary trees
    extrapolated = setup + (render * len(names) / len(chosen) if chosen else 0.0)
    return NaiveRenderResult(
        clusters=len(names),
        sampled=len(chosen),
        seconds_measured=measured,
        seconds_extrapolated=extrapolated,
        seconds_setup=setup,
        changed=len(changed),
        changed_names=tuple(changed),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Render every cluster at base and head with kubectl kustomize."
    )
    parser.add_argument("--repo", type=Path, required=True, metavar="DIR")
    parser.add_argument("--base", default=None, metavar="REV", help="default: HEAD^")
    parser.add_argument("--head", default="HEAD", metavar="REV")
    parser.add_argument("--inventory", default="clusters.yaml", metavar="PATH")
    parser.add_argument(
        "--sample",
        type=int,
        default=None,
        metavar="K",
        help="render only K clusters and extrapolate the time to all of them",
    )
    parser.add_argument(
        "--kubectl",
        default="kubectl",
        metavar="PATH",
        help="kubectl binary (renders with 'kubectl kustomize DIR'); "
        "a binary named kustomize is run as 'kustomize build DIR'",
    )
    args = parser.parse_args(argv)
    base = args.base if args.base is not None else f"{args.head}^"
    if Path(args.kubectl).name == "kustomize":
        kubectl = [args.kubectl, "build"]
    else:
        kubectl = [args.kubectl, "kustomize"]
    if shutil.which(kubectl[0]) is None:
        print(f"naive_render: {kubectl[0]} not found", file=sys.stderr)
        return 2
    try:
        result = naive_render(
            args.repo,
            base,
            args.head,
            inventory=args.inventory,
            sample=args.sample,
            kubectl=kubectl,
        )
    except (RuntimeError, yaml.YAMLError) as exc:
        print(f"naive_render: {exc}", file=sys.stderr)
        return 2
    print(
        json.dumps(
            {
                "clusters": result.clusters,
                "sampled": result.sampled,
                "seconds_measured": round(result.seconds_measured, 3),
                "seconds_extrapolated": round(result.seconds_extrapolated, 3),
                "seconds_setup": round(result.seconds_setup, 3),
                "changed": result.changed,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
