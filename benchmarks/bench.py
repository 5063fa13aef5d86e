"""The benchmark behind ``nox -s bench``: the planner against the parse floor, at scale.

For each fleet size N (default 100, 1,000 and 10,000 clusters) a synthetic fleet is
generated once (``benchmarks/genfleet.py``) and kept under a temporary folder between runs.
Then, in the same run and interleaved (plan, floor, plan, floor, ...):

- ``wave-planner plan --format json`` for each change kind (base, region, cluster,
  inventory: ``--base TAG^ --head TAG``);
- the parse floor (``benchmarks/parse_floor.py``) at the same commit.

Every measurement is a whole process: wall time from start to exit, and peak RSS from the
kernel's accounting of that one child (``os.wait4``, the per-child form of
``getrusage(RUSAGE_CHILDREN)``). The median of ``--runs`` (default 3) is reported, with the
highest peak. Also:

- the release commands on the one-region change, next to its plan and floor: ``rollout
  start``, ``rollout status``, ``rollout advance`` of one step and ``emit --target flux``
  (``--no-rollout`` skips them);

- ``emit`` at the sizes of ``--emit-sizes`` (default 5,000: the size the issue's target
  names), ``--target flux`` and ``--target argocd`` into a new folder, each output then
  checked to hold every inventory cluster exactly once (``--emit-sizes ''`` skips it);
- the naive alternative (``benchmarks/naive_render.py``: ``kubectl kustomize`` for every
  cluster at base and head), sampled at N >= 1,000 and extrapolated;
- precise mode on the one-region change at N = 1,000, cold (empty render cache) and warm,
  against rendering everything.

Prints the tables (with the machine: cores, CPU model, Python) and writes JSON to
``benchmarks/results/bench-<time>.json``.

Usage::

    python benchmarks/bench.py [--sizes 100,1000,10000] [--runs 3] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

from tabulate import tabulate

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from benchmarks.genfleet import generate_fleet  # noqa: E402

CHANGES = ("change-base", "change-region", "change-cluster", "change-inventory")
PRECISE_SIZE = 1000
PYCACHE = Path(tempfile.gettempdir()) / "wave-planner-bench-pycache"


@dataclass(frozen=True)
class Sample:
    seconds: float
    peak_mib: float
    exit_code: int
    cpu_seconds: float = 0.0  # user + system time of the child: steadier on a busy machine


@dataclass(frozen=True)
class Row:
    clusters: int
    change: str
    plan_seconds: float
    plan_peak_mib: float
    floor_seconds: float
    floor_peak_mib: float
    affected: int
    plan_cpu: float = 0.0
    floor_cpu: float = 0.0

    @property
    def ratio(self) -> float:
        return self.plan_seconds / self.floor_seconds if self.floor_seconds else 0.0

    @property
    def cpu_ratio(self) -> float:
        return self.plan_cpu / self.floor_cpu if self.floor_cpu else 0.0


def run_once(argv: Sequence[str], env: dict[str, str] | None = None) -> Sample:
    """One whole process: wall seconds and the peak RSS of that child alone."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        list(argv), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=ROOT
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    cpu = usage.ru_utime + usage.ru_stime
    return Sample(seconds, usage.ru_maxrss / 1024, proc.returncode, cpu)


def best(samples: Sequence[Sample]) -> Sample:
    """The median run (wall time) and the highest peak of all runs: a shared machine's
    noise moves the fastest run more than the median."""
    failed = [s for s in samples if s.exit_code not in (0, 1)]
    if failed:
        raise RuntimeError(f"a benchmarked command failed (exit {failed[0].exit_code})")
    ordered = sorted(samples, key=lambda s: s.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    cpu = sorted(s.cpu_seconds for s in samples)[(len(samples) - 1) // 2]
    return Sample(middle.seconds, max(s.peak_mib for s in samples), middle.exit_code, cpu)


def planner_argv() -> list[str]:
    script = Path(sys.executable).parent / "wave-planner"
    return [str(script)] if script.exists() else [sys.executable, "-m", "planner"]


def environment(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
    if env.pop("PYTHONDONTWRITEBYTECODE", None) is not None:
        # An installed tool has compiled bytecode (pip compiles on install); where the
        # environment forbids writing it beside the sources, keep it in a folder of the
        # bench so no measured run pays for compiling the planner.
        env.setdefault("PYTHONPYCACHEPREFIX", str(PYCACHE))
    env.update(extra or {})
    return env


def compile_planner() -> None:
    """Compile the planner's bytecode once, before any timed run (see `environment`); with
    a bytecode folder (`PYTHONPYCACHEPREFIX`) the installed packages' bytecode beside their
    sources is not read, so theirs is compiled into it too (once: up-to-date files are
    skipped on the next bench)."""
    env = environment()
    compile_all = [sys.executable, "-m", "compileall", "-q"]
    subprocess.run([*compile_all, str(ROOT / "planner"), str(HERE)], env=env, check=True,
                   stdout=subprocess.DEVNULL)  # fmt: skip
    if "PYTHONPYCACHEPREFIX" in env:
        packages = sorted({p for p in sys.path if p.endswith("-packages")})
        subprocess.run([*compile_all, "-j", "0", *packages], env=env, check=False,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


def fleet(work: Path, n: int) -> Path:
    path = work / f"fleet-{n}"
    if not (path / ".git").exists():
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        generate_fleet(n, path, checkout=False)
        print(f"generated a fleet of {n} clusters in {time.perf_counter() - started:.1f}s")
    return path


def affected_count(repo: Path, change: str) -> int:
    out = subprocess.run(
        [
            *planner_argv(),
            "plan",
            "--repo",
            str(repo),
            "--base",
            f"{change}^",
            "--head",
            change,
            "--format",
            "json",
        ],
        capture_output=True,
        env=environment(),
        check=False,
    )
    return int(json.loads(out.stdout)["summary"]["clusters_affected"])


def measure_change(repo: Path, n: int, change: str, runs: int) -> Row:
    plan = [*planner_argv(), "plan", "--repo", str(repo), "--base", f"{change}^"]
    plan += ["--head", change, "--format", "json"]
    floor = [sys.executable, str(HERE / "parse_floor.py"), "--repo", str(repo), "--rev", change]
    floor += ["--inventory", "clusters.yaml"]
    env = environment()
    plans, floors = [], []
    for _ in range(runs):  # interleaved, so a drifting machine affects both alike
        plans.append(run_once(plan, env))
        floors.append(run_once(floor, env))
    p, f = best(plans), best(floors)
    affected = affected_count(repo, change)
    return Row(
        n, change, p.seconds, p.peak_mib, f.seconds, f.peak_mib, affected, p.cpu_seconds,
        f.cpu_seconds,
    )  # fmt: skip


ROLLOUT_CHANGE = "change-region"
BENCH_NOW = "2026-01-01T00:00:00Z"
ORIGIN = "https://git.example.com/platform/fleet.git"


@dataclass(frozen=True)
class RolloutRow:
    """Release commands at one fleet size, next to `plan` and the floor of the same change."""

    clusters: int
    affected: int
    plan_seconds: float
    floor_seconds: float
    start_seconds: float
    status_seconds: float
    advance_seconds: float
    commit_seconds: float  # `advance --commit`
    emit_seconds: float
    plan_peak_mib: float
    start_peak_mib: float
    status_peak_mib: float
    advance_peak_mib: float
    commit_peak_mib: float
    emit_peak_mib: float
    cpu: dict[str, float]  # median CPU seconds of plan, start, status, advance, commit, emit

    @property
    def status_ratio(self) -> float:
        return self.status_seconds / self.plan_seconds if self.plan_seconds else 0.0


def _git(repo: Path, *args: str) -> None:
    subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True)


def measure_rollout(
    work: Path, source: Path, n: int, row: Row, plan_cpu: float, runs: int, writes: int
) -> RolloutRow:
    """`rollout start`, `status`, `advance` (one step) and `emit --target flux` at one size.

    On a copy of the fleet with an `origin` remote (the manifests' repository URL) and its
    working tree at the change's head (as a release manager's), for the one-region change.
    `start` and `advance` run on a restored copy of `waves/` each time, so every run does
    the same work; the copy is made outside the timing.
    """
    repo = work / f"rollout-{n}"
    shutil.rmtree(repo, ignore_errors=True)
    shutil.copytree(source, repo, symlinks=True)
    _git(repo, "remote", "add", "origin", ORIGIN)
    _git(repo, "reset", "-q", "--hard", ROLLOUT_CHANGE)  # rollouts read the working tree
    env = environment({"WAVE_PLANNER_NOW": BENCH_NOW})
    cli = planner_argv()
    waves = repo / "waves"
    start = [*cli, "rollout", "start", "--repo", str(repo), "--name", "bench", "--target"]
    start += ["flux", "--base", f"{ROLLOUT_CHANGE}^", "--head", ROLLOUT_CHANGE, "--by", "bench"]
    starts = []
    for _ in range(writes):
        shutil.rmtree(waves, ignore_errors=True)
        starts.append(run_once(start, env))
    saved = work / f"rollout-{n}-waves"
    shutil.rmtree(saved, ignore_errors=True)
    shutil.copytree(waves, saved)
    status = [*cli, "rollout", "status", "bench", "--repo", str(repo)]
    statuses = [run_once(status, env) for _ in range(runs)]
    advance = [*cli, "rollout", "advance", "bench", "--repo", str(repo), "--approve"]
    advance += ["--by", "bench"]
    advances = []
    for _ in range(runs):
        shutil.rmtree(waves)
        shutil.copytree(saved, waves)
        advances.append(run_once(advance, env))
    commits = measure_commit(repo, saved, [*advance, "--commit"], env, runs)
    out = work / f"emit-{n}"
    emit = [*cli, "emit", "--target", "flux", "--repo", str(repo), "--out", str(out)]
    emit += ["--base", f"{ROLLOUT_CHANGE}^", "--head", ROLLOUT_CHANGE]
    emits = []
    for _ in range(writes):
        shutil.rmtree(out, ignore_errors=True)
        emits.append(run_once(emit, env))
    st, su, ad, em = best(starts), best(statuses), best(advances), best(emits)
    co = best(commits)
    return RolloutRow(
        n, row.affected, row.plan_seconds, row.floor_seconds,
        st.seconds, su.seconds, ad.seconds, co.seconds, em.seconds,
        row.plan_peak_mib, st.peak_mib, su.peak_mib, ad.peak_mib, co.peak_mib, em.peak_mib,
        {"plan": plan_cpu, "start": st.cpu_seconds, "status": su.cpu_seconds,
         "advance": ad.cpu_seconds, "commit": co.cpu_seconds, "emit": em.cpu_seconds},
    )  # fmt: skip


def measure_commit(
    repo: Path, saved: Path, argv: list[str], env: dict[str, str], runs: int
) -> list[Sample]:
    """`rollout advance --commit` of one step, from the started rollout committed (as
    `rollout start --commit` leaves it); before each run, outside the timing, the branch,
    the index and the work tree go back to that commit, with the index's file status
    refreshed (as any `git status` leaves it)."""
    waves = repo / "waves"
    shutil.rmtree(waves)
    shutil.copytree(saved, waves)
    _git(repo, "config", "user.name", "bench")
    _git(repo, "config", "user.email", "bench@example.com")
    _git(repo, "add", "-A", "--", "waves")
    _git(repo, "commit", "-q", "--no-verify", "-m", "start the bench rollout")
    started = (
        subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, check=True
        )
        .stdout.decode()
        .strip()
    )
    samples = []
    for _ in range(runs):
        _git(repo, "reset", "-q", "--hard", started)
        _git(repo, "status", "--porcelain")
        samples.append(run_once(argv, env))
    _git(repo, "reset", "-q", "--hard", ROLLOUT_CHANGE)
    shutil.rmtree(waves, ignore_errors=True)
    return samples


@dataclass(frozen=True)
class EmitRow:
    """`emit` into a new folder at one fleet size, per target: median wall, CPU, peak."""

    clusters: int
    target: str
    seconds: float
    cpu_seconds: float
    peak_mib: float
    files: int


def measure_emit(work: Path, source: Path, n: int, runs: int) -> list[EmitRow]:
    """`emit --target flux|argocd` of the one-region change into a new folder, `runs` times
    each; the last output must hold every inventory cluster exactly once (the scale check
    the test suite runs at 60 and 250 clusters)."""
    repo = work / f"emit-repo-{n}"
    if not (repo / ".git").exists():
        shutil.copytree(source, repo, symlinks=True)
        _git(repo, "remote", "add", "origin", ORIGIN)
        _git(repo, "reset", "-q", "--hard", ROLLOUT_CHANGE)
    env = environment({"WAVE_PLANNER_NOW": BENCH_NOW})
    rows = []
    for target in ("flux", "argocd"):
        out = work / f"emit-{target}-{n}"
        argv = [*planner_argv(), "emit", "--target", target, "--repo", str(repo)]
        argv += ["--out", str(out), "--base", f"{ROLLOUT_CHANGE}^", "--head", ROLLOUT_CHANGE]
        samples = []
        for _ in range(runs):
            shutil.rmtree(out, ignore_errors=True)
            samples.append(run_once(argv, env))
        got = best(samples)
        emitted = every_cluster_once(repo, out, target)
        rows.append(EmitRow(n, target, got.seconds, got.cpu_seconds, got.peak_mib, emitted))
    return rows


def every_cluster_once(repo: Path, out: Path, target: str) -> int:
    """The number of files in `out`, after checking that each inventory cluster is emitted
    exactly once (Flux: its own sync file; Argo CD: one element of one ApplicationSet)."""
    import yaml

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    inventory = yaml.load((repo / "clusters.yaml").read_bytes(), Loader=loader)
    names = sorted(c["name"] for c in inventory["clusters"])
    if target == "flux":
        found = sorted(p.parent.name for p in out.glob("clusters/*/sync.yaml"))
    else:
        found = sorted(
            element["cluster"]
            for path in out.glob("*.yaml")
            for doc in yaml.load_all(path.read_bytes(), Loader=loader)
            if doc and doc.get("kind") == "ApplicationSet"
            for generator in doc["spec"]["generators"]
            for element in generator["list"]["elements"]
        )
    if found != names:
        raise RuntimeError(f"emit --target {target} at N={len(names)}: not every cluster once")
    return sum(1 for p in out.rglob("*") if p.is_file())


def print_emit_table(rows: Sequence[EmitRow], runs: int) -> None:
    print()
    print(f"emit into a new folder, {ROLLOUT_CHANGE} (median of {runs}; every cluster once):")
    table = [
        [r.clusters, r.target, r.files, f"{r.seconds:.2f}", f"{r.cpu_seconds:.2f}",
         f"{r.peak_mib:.0f}"]
        for r in rows
    ]  # fmt: skip
    print(tabulate(table, headers=["N", "target", "files", "wall s", "CPU s", "peak MiB"]))


def naive(repo: Path, n: int) -> dict[str, float] | None:
    if shutil.which("kubectl") is None:
        return None
    sample = [] if n < 1000 else ["--sample", "20"]
    env = environment({"TMPDIR": "/dev/shm"} if Path("/dev/shm").is_dir() else {})
    out = subprocess.run(
        [
            sys.executable,
            str(HERE / "naive_render.py"),
            "--repo",
            str(repo),
            "--base",
            "change-region^",
            "--head",
            "change-region",
            *sample,
        ],
        capture_output=True,
        env=env,
        check=False,
    )
    if out.returncode != 0:
        return None
    data: dict[str, float] = json.loads(out.stdout)
    return data


def precise(repo: Path, work: Path) -> dict[str, float] | None:
    if shutil.which("kubectl") is None and shutil.which("kustomize") is None:
        return None
    argv = [*planner_argv(), "plan", "--repo", str(repo), "--base", "change-region^"]
    argv += ["--head", "change-region", "--format", "json", "--precise"]
    cache = work / "render-cache"
    shutil.rmtree(cache, ignore_errors=True)
    env = environment({"WAVE_PLANNER_CACHE": str(cache)})
    cold = run_once(argv, env)
    warm = best([run_once(argv, env) for _ in range(3)])
    return {"cold_seconds": cold.seconds, "warm_seconds": warm.seconds, "peak_mib": cold.peak_mib}


def slope(rows: Sequence[Row], change: str) -> float:
    """Least-squares seconds per 1,000 clusters of `plan` for one change kind."""
    points = [(r.clusters / 1000, r.plan_seconds) for r in rows if r.change == change]
    if len(points) < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / len(points)
    mean_y = sum(y for _, y in points) / len(points)
    num = sum((x - mean_x) * (y - mean_y) for x, y in points)
    den = sum((x - mean_x) ** 2 for x, _ in points)
    return num / den if den else 0.0


def print_plan_table(rows: Sequence[Row]) -> dict[str, float]:
    table = [
        [
            r.clusters,
            r.change,
            r.affected,
            f"{r.plan_seconds:.2f}",
            f"{r.floor_seconds:.2f}",
            f"{r.ratio:.2f}x",
            f"{r.plan_peak_mib:.0f}",
            f"{r.floor_peak_mib:.0f}",
            f"{r.plan_cpu:.2f}/{r.floor_cpu:.2f} ({r.cpu_ratio:.2f}x)",
        ]
        for r in rows
    ]
    headers = ["N", "change", "affected", "plan s", "floor s", "plan/floor", "plan MiB"]
    print()
    print(tabulate(table, headers=[*headers, "floor MiB", "CPU s plan/floor"]))
    slopes = {c: slope(rows, c) for c in CHANGES if any(r.change == c for r in rows)}
    print()
    print("slope (plan seconds per 1,000 clusters): ", end="")
    print(", ".join(f"{c} {s:.3f}" for c, s in slopes.items()))
    return slopes


def rollout_slopes(rows: Sequence[RolloutRow]) -> dict[str, float]:
    """Least-squares seconds per 1,000 clusters of each release command."""
    out: dict[str, float] = {}
    for command in ("start", "status", "advance", "commit", "emit"):
        points = [(r.clusters / 1000, getattr(r, f"{command}_seconds")) for r in rows]
        if len(points) < 2:
            continue
        mean_x = sum(x for x, _ in points) / len(points)
        mean_y = sum(y for _, y in points) / len(points)
        den = sum((x - mean_x) ** 2 for x, _ in points)
        num = sum((x - mean_x) * (y - mean_y) for x, y in points)
        out[command] = num / den if den else 0.0
    return out


def print_rollout_table(rows: Sequence[RolloutRow], runs: int) -> None:
    print()
    print(f"release commands, {ROLLOUT_CHANGE} (median of {runs}; MiB = peak RSS):")
    print(
            tabulate(
                [
                    [
                        r.clusters, r.affected, f"{r.plan_seconds:.2f}", f"{r.floor_seconds:.2f}",
                        f"{r.start_seconds:.2f}", f"{r.status_seconds:.2f}",
                        f"{r.status_ratio:.2f}x", f"{r.advance_seconds:.2f}",
                        f"{r.commit_seconds:.2f}", f"{r.emit_seconds:.2f}",
                        f"{r.plan_peak_mib:.0f}/{r.start_peak_mib:.0f}/{r.status_peak_mib:.0f}/"
                        f"{r.advance_peak_mib:.0f}/{r.commit_peak_mib:.0f}/{r.emit_peak_mib:.0f}",
                        "/".join(f"{r.cpu[k]:.2f}" for k in
                                 ("plan", "start", "status", "advance", "commit", "emit")),
                    ]
                    for r in rows
                ],
                headers=[
                    "N", "affected", "plan s", "floor s", "start s", "status s",
                    "status/plan", "advance s", "advance --commit s", "emit flux s",
                    "MiB plan/start/status/advance/--commit/emit", "CPU s (same order)",
                ],
            )
        )  # fmt: skip
    slopes = rollout_slopes(rows)
    if slopes:
        print("slope (seconds per 1,000 clusters): ", end="")
        print(", ".join(f"{c} {v:.3f}" for c, v in slopes.items()))


def machine() -> dict[str, object]:
    """Cores, CPU model and Python version (no host name, no paths)."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpus": os.cpu_count(), "cpu": model, "python": sys.version.split()[0]}


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100,1000,10000", help="fleet sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=3, help="the median of this many runs")
    parser.add_argument(
        "--work",
        type=Path,
        default=Path(tempfile.gettempdir()) / "wave-planner-bench",
        help="where generated fleets are kept between runs",
    )
    parser.add_argument("--no-naive", action="store_true", help="skip the kubectl baseline")
    parser.add_argument("--no-precise", action="store_true", help="skip precise mode")
    parser.add_argument(
        "--changes", default=",".join(CHANGES), help="change kinds to plan, comma-separated"
    )
    parser.add_argument(
        "--write-runs",
        type=int,
        default=0,
        help="runs of `rollout start` and `emit` (they write the whole fleet; default --runs)",
    )
    parser.add_argument(
        "--no-rollout", action="store_true", help="skip rollout start/status/advance and emit"
    )
    parser.add_argument(
        "--emit-sizes",
        default="5000",
        help="fleet sizes for `emit --target flux|argocd` alone, comma-separated ('' skips)",
    )
    parser.add_argument("--out", type=Path, default=HERE / "results")
    return parser.parse_args(argv)


def print_baselines(
    naive_runs: dict[int, dict[str, float]], precise_run: dict[str, float] | None
) -> None:
    """The naive kubectl baseline and precise mode, when measured."""
    if naive_runs:
        print()
        print(
            tabulate(
                [
                    [n, int(d["sampled"]), f"{d['seconds_extrapolated']:.1f}"]
                    for n, d in sorted(naive_runs.items())
                ],
                headers=["N", "sampled", "naive kubectl s (extrapolated)"],
            )
        )
    if precise_run is not None:
        everything = naive_runs.get(PRECISE_SIZE, {}).get("seconds_extrapolated")
        line = (
            f"precise, one region at N={PRECISE_SIZE}: cold {precise_run['cold_seconds']:.2f}s, "
            f"warm {precise_run['warm_seconds']:.2f}s"
        )
        if everything:
            line += f"; rendering everything {everything:.1f}s "
            line += f"({everything / precise_run['cold_seconds']:.0f}x the cold run)"
        print()
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    compile_planner()

    print("machine: {cpus} cores, {cpu}, Python {python}".format(**machine()))
    rows: list[Row] = []
    rollout_rows: list[RolloutRow] = []
    naive_runs: dict[int, dict[str, float]] = {}
    precise_run: dict[str, float] | None = None
    for n in sizes:
        repo = fleet(args.work, n)
        for change in [c for c in CHANGES if c in args.changes.split(",")]:
            rows.append(measure_change(repo, n, change, args.runs))
            last = rows[-1]
            print(f"N={n} {change}: {last.plan_seconds:.2f}s (floor {last.floor_seconds:.2f}s)")
        region = next((r for r in rows if r.clusters == n and r.change == ROLLOUT_CHANGE), None)
        if region is not None and not args.no_rollout:
            writes = args.write_runs or args.runs
            got = measure_rollout(args.work, repo, n, region, region.plan_cpu, args.runs, writes)
            rollout_rows.append(got)
            print(
                f"N={n} rollout: start {got.start_seconds:.2f}s, status "
                f"{got.status_seconds:.2f}s, advance {got.advance_seconds:.2f}s, "
                f"advance --commit {got.commit_seconds:.2f}s, emit {got.emit_seconds:.2f}s"
            )
        if not args.no_naive:
            found = naive(repo, n)
            if found is not None:
                naive_runs[n] = found
        if n == PRECISE_SIZE and not args.no_precise:
            precise_run = precise(repo, args.work)

    emit_rows: list[EmitRow] = []
    for n in [int(s) for s in args.emit_sizes.split(",") if s.strip()]:
        emit_rows.extend(
            measure_emit(args.work, fleet(args.work, n), n, args.write_runs or args.runs)
        )
        print(", ".join(f"N={n} emit {r.target}: {r.seconds:.2f}s" for r in emit_rows[-2:]))

    slopes = print_plan_table(rows)
    if rollout_rows:
        print_rollout_table(rollout_rows, args.runs)
    if emit_rows:
        print_emit_table(emit_rows, args.write_runs or args.runs)
    print_baselines(naive_runs, precise_run)

    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    result = {
        "machine": machine(),
        "rollout": [{**asdict(r), "status_ratio": r.status_ratio} for r in rollout_rows],
        "emit": [asdict(r) for r in emit_rows],
        "runs": args.runs,
        "rows": [{**asdict(r), "ratio": r.ratio} for r in rows],
        "slope_seconds_per_1000": slopes,
        "naive": {str(n): d for n, d in naive_runs.items()},
        "precise": precise_run,
    }
    target = args.out / f"bench-{stamp}.json"
    target.write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nsaved {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
