"""Evaluating gates against the world: Prometheus over HTTP, commands as subprocesses.

A Prometheus gate is one `GET /api/v1/query` (or `/api/v1/query_range` over its `for:`
window) with the standard library's HTTP client; a command gate is its argv run without a
shell, with no standard input and a timeout, once per step or once per cluster (a few at a
time). What passes is decided by `planner.gates`; anything that stops an evaluation (server
down, a timeout, an answer that is not Prometheus's, a command that cannot start) fails the
gate with that reason: gates are evidence and are never skipped.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from planner import gates as g

PARALLEL = 8


def evaluate(
    specs: Sequence[g.GateSpec], step: g.GateSubject, *, clock: Callable[[], float] = time.time
) -> g.Verdict:
    """Every gate of a step, each evaluated once per step or per cluster."""
    jobs: list[tuple[g.GateSpec, g.GateSubject]] = [
        (spec, target) for spec in specs for target in g.targets(spec, step)
    ]
    with ThreadPoolExecutor(max_workers=min(PARALLEL, max(1, len(jobs)))) as pool:
        results = list(pool.map(lambda job: _one(job[0], job[1], clock), jobs))
    return g.Verdict(step.step, tuple(results))


def _one(spec: g.GateSpec, target: g.GateSubject, clock: Callable[[], float]) -> g.Evaluation:
    try:
        if spec.prometheus is not None:
            passed, evidence = prometheus(spec.prometheus, target, spec.timeout_seconds, clock)
        else:
            passed, evidence = command(spec.command or (), target, spec.timeout_seconds)
    except g.PlaceholderError as exc:
        passed, evidence = False, f"cannot be evaluated: {exc}"
    return g.Evaluation(spec.name, passed, evidence, target.cluster)


def prometheus(
    check: g.PrometheusCheck, target: g.GateSubject, timeout: int, clock: Callable[[], float]
) -> tuple[bool, str]:
    """Run the query (over the window with `for:`) and judge the answer."""
    query = g.render_query(check.query, target)
    base = check.url.rstrip("/")
    end = clock()
    window = check.window_seconds
    if window:
        step = max(1.0, window / 60)
        start = end - window
        params = {"query": query, "start": f"{start:.3f}", "end": f"{end:.3f}", "step": f"{step:g}"}
        url = f"{base}/api/v1/query_range?{urllib.parse.urlencode(params)}"
    else:
        step, start = 0.0, end
        url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': query})}"
    try:
        data = _get_json(url, timeout)
    except _Unavailable as exc:
        return False, f"cannot be evaluated: {exc}"
    try:
        samples = _samples(data)
    except (KeyError, TypeError, ValueError) as exc:
        return False, f"cannot be evaluated: unexpected answer from {base} ({exc})"
    passed, evidence = g.judge_samples(check, samples, start=start, end=end, step=step)
    return passed, f"{evidence} [query: {query}]"


class _Unavailable(Exception):
    pass


def _get_json(url: str, timeout: int) -> Any:
    request = urllib.request.Request(url, headers={"Accept": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = response.read()
    except urllib.error.HTTPError as exc:
        detail = exc.read().decode(errors="replace")[:300]
        with contextlib.suppress(ValueError, AttributeError):
            detail = json.loads(detail).get("error", detail)
        raise _Unavailable(f"Prometheus answered HTTP {exc.code}: {detail}") from None
    except TimeoutError:
        raise _Unavailable(f"no answer within {timeout}s") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Unavailable(f"Prometheus unreachable: {reason}") from None
    try:
        data = json.loads(payload)
    except ValueError:
        raise _Unavailable("the answer is not JSON") from None
    if not isinstance(data, dict) or data.get("status") != "success":
        error = data.get("error") if isinstance(data, dict) else None
        raise _Unavailable(f"query failed: {error or 'unexpected answer'}")
    return data


def _samples(data: Any) -> list[g.Sample]:
    result = data["data"]
    kind = result["resultType"]
    if kind == "scalar":
        at, value = result["result"]
        return [g.Sample({}, ((float(at), float(value)),))]
    if kind == "vector":
        return [
            g.Sample(dict(r.get("metric", {})), ((float(r["value"][0]), float(r["value"][1])),))
            for r in result["result"]
        ]
    if kind == "matrix":
        return [
            g.Sample(
                dict(r.get("metric", {})),
                tuple((float(at), float(value)) for at, value in r["values"]),
            )
            for r in result["result"]
        ]
    raise ValueError(f"result type {kind!r}")


def command(argv: Sequence[str], target: g.GateSubject, timeout: int) -> tuple[bool, str]:
    """Run a command gate (no shell, no stdin); exit 0 passes. The output's tail is kept."""
    args = g.render_argv(argv, target)
    env = dict(os.environ, WAVE_PLANNER_STEP=target.step, WAVE_PLANNER_WAVE=target.wave)
    if target.cluster:
        env["WAVE_PLANNER_CLUSTER"] = target.cluster
    try:
        proc = subprocess.run(
            args,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode(errors="replace") if isinstance(exc.stdout, bytes) else ""
        return False, _with_output(f"cannot be evaluated: timed out after {timeout}s", out)
    except OSError as exc:
        return False, f"cannot be evaluated: cannot run {args[0]!r}: {exc.strerror or exc}"
    output = proc.stdout.decode(errors="replace")
    if proc.returncode == 0:
        return True, _with_output("exit 0", output)
    return False, _with_output(f"exit {proc.returncode}", output)


def _with_output(head: str, output: str) -> str:
    text = g.tail(output)
    return f"{head}; output: {text}" if text else head
