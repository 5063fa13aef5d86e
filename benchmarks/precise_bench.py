"""Precise mode at scale: renders reused, layers pruned, diffs grouped (``nox -s bench``).

On the synthetic fleet of ``benchmarks/genfleet.py`` (kept between runs under ``--work``),
``wave-planner plan --precise --format json`` is measured as a whole process (wall time and
peak RSS, as in ``benchmarks/bench.py``) for:

- ``region``: the one-region change (``change-region``), cold (empty render cache) and warm;
- ``base-reformat``: ``base/kustomization.yaml`` reformatted (a comment, keys re-ordered),
  a commit added on top of the generated history: it reaches every cluster, and layer
  pruning proves it with two renders of ``base/``;
- the same plan without ``--precise`` (tracing only), measured in the same conditions, so
  that what rendering adds can be read on a busy machine too;
- ``base``: the base change that reaches every cluster (``change-base``), cold and warm:
  two renders per cluster; at sizes above ``--full-base-max`` it is not run but
  extrapolated from the largest size that was (it grows linearly with the clusters).

Against rendering everything (``benchmarks/naive_render.py``: ``kubectl kustomize`` for
every cluster at both commits), sampled and extrapolated at N >= 1,000. Prints a table and
writes JSON to ``benchmarks/results/precise-<time>.json``.

Usage::

    python benchmarks/precise_bench.py [--sizes 1000,10000] [--full-base-max 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from tabulate import tabulate

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from benchmarks.bench import environment, fleet, naive, planner_argv, run_once  # noqa: E402
from benchmarks.genfleet import git_env  # noqa: E402

REFORMAT_TAG = "change-base-reformat"


def _git(repo: Path, *args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run(
        ["git", "-C", str(repo), *args],
        capture_output=True,
        text=True,
        check=True,
        env={**git_env(), **(env or {})},
    ).stdout.strip()


def add_reformat(repo: Path) -> None:
    """Tag a commit that reformats base/kustomization.yaml (same render) on change-inventory."""
    if _git(repo, "tag", "--list", REFORMAT_TAG):
        return
    import yaml

    parent = "change-inventory"
    text = _git(repo, "show", f"{parent}:base/kustomization.yaml")
    doc = yaml.safe_load(text)
    new = "# every cluster inherits these\n" + yaml.safe_dump(doc, sort_keys=True, width=60)
    blob = subprocess.run(
        ["git", "-C", str(repo), "hash-object", "-w", "--stdin"],
        input=new,
        capture_output=True,
        text=True,
        check=True,
        env=git_env(),
    ).stdout.strip()
    with tempfile.TemporaryDirectory() as scratch:
        index = {"GIT_INDEX_FILE": str(Path(scratch) / "index")}
        _git(repo, "read-tree", parent, env=index)
        _git(
            repo,
            "update-index",
            "--cacheinfo",
            f"100644,{blob},base/kustomization.yaml",
            env=index,
        )
        tree = _git(repo, "write-tree", env=index)
    commit = _git(repo, "commit-tree", tree, "-p", parent, "-m", "Reformat the base")
    _git(repo, "tag", REFORMAT_TAG, commit)


def precise_run(repo: Path, tag: str, cache: Path) -> tuple[float, float, int, int]:
    """Seconds, peak MiB, affected and distinct groups of one `plan --precise` process."""
    argv = [*planner_argv(), "plan", "--repo", str(repo), "--base", f"{tag}^", "--head", tag]
    argv += ["--format", "json", "--precise"]
    env = environment({"WAVE_PLANNER_CACHE": str(cache)})
    sample = run_once(argv, env)
    if sample.exit_code not in (0, 1):
        raise RuntimeError(f"plan --precise failed on {tag} (exit {sample.exit_code})")
    out = subprocess.run(argv, capture_output=True, env=env, check=False, cwd=HERE.parent)
    plan = json.loads(out.stdout)
    return (
        sample.seconds,
        sample.peak_mib,
        int(plan["summary"]["clusters_affected"]),
        len(plan["diff_groups"]),
    )


def traced_only(repo: Path, tag: str) -> float:
    """Seconds of the same plan without --precise (tracing only), in the same conditions."""
    argv = [*planner_argv(), "plan", "--repo", str(repo), "--base", f"{tag}^", "--head", tag]
    return run_once([*argv, "--format", "json"], environment()).seconds


def measure(repo: Path, work: Path, tag: str) -> dict[str, float]:
    cache = work / f"cache-{tag}"
    shutil.rmtree(cache, ignore_errors=True)
    cold, peak, affected, groups = precise_run(repo, tag, cache)
    warm = precise_run(repo, tag, cache)[0]  # the run above (for the counts) warmed it too
    shutil.rmtree(cache, ignore_errors=True)
    return {
        "cold_seconds": cold,
        "warm_seconds": warm,
        "traced_seconds": traced_only(repo, tag),
        "peak_mib": peak,
        "affected": affected,
        "groups": groups,
    }


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000")
    parser.add_argument("--full-base-max", type=int, default=1000)
    parser.add_argument(
        "--work", type=Path, default=Path(tempfile.gettempdir()) / "wave-planner-bench"
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    args = parser.parse_args(argv)
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        print("precise benchmark skipped: neither kubectl nor kustomize is on PATH")
        return 0
    args.work.mkdir(parents=True, exist_ok=True)
    results: dict[int, dict[str, dict[str, float]]] = {}
    for n in [int(s) for s in args.sizes.split(",") if s.strip()]:
        repo = fleet(args.work, n)
        add_reformat(repo)
        found: dict[str, dict[str, float]] = {}
        for name, tag in (("region", "change-region"), ("base-reformat", REFORMAT_TAG)):
            found[name] = measure(repo, args.work, tag)
            print(f"N={n} {name}: {found[name]}")
        if n <= args.full_base_max:
            found["base"] = measure(repo, args.work, "change-base")
            print(f"N={n} base: {found['base']}")
        everything = naive(repo, n)
        if everything is not None:
            found["naive"] = everything
        results[n] = found
    measured = {n: r["base"] for n, r in results.items() if "base" in r}
    if measured:
        largest = max(measured)
        for n, found in results.items():
            if "base" not in found:
                scale = n / largest
                found["base"] = {
                    "cold_seconds": measured[largest]["cold_seconds"] * scale,
                    "warm_seconds": measured[largest]["warm_seconds"] * scale,
                    "extrapolated_from": largest,
                }

    rows = []
    for n, found in sorted(results.items()):
        naive_s = found.get("naive", {}).get("seconds_extrapolated")
        for name in ("region", "base-reformat", "base"):
            if name not in found:
                continue
            r = found[name]
            extra = " (extrapolated)" if "extrapolated_from" in r else ""
            rows.append(
                [
                    n,
                    name + extra,
                    int(r.get("affected", -1)) if "affected" in r else "-",
                    int(r.get("groups", -1)) if "groups" in r else "-",
                    f"{r['cold_seconds']:.2f}",
                    f"{r['warm_seconds']:.2f}",
                    f"{r['traced_seconds']:.2f}" if "traced_seconds" in r else "-",
                    f"{naive_s:.0f}" if naive_s else "-",
                    f"{naive_s / r['cold_seconds']:.0f}x" if naive_s else "-",
                ]
            )
    headers = ["N", "change", "affected", "groups", "cold s", "warm s", "plan s (no --precise)"]
    headers += ["naive s", "vs naive"]
    print()
    print(tabulate(rows, headers=headers))
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    target = args.out / f"precise-{stamp}.json"
    machine = {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())}
    data = {"machine": machine, "results": {str(n): r for n, r in results.items()}}
    print(f"load average at the end: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    target.write_text(json.dumps(data, indent=2) + "\n")
    print(f"\nsaved {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
