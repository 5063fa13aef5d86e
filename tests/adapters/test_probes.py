"""Prometheus gates against a real Prometheus (Debian's `prometheus` package).

The test starts Prometheus on a loopback port, scraping every second a target the test
serves itself, whose metric values the tests change. Waits are bounded polls of the HTTP
API, never fixed sleeps. Skipped, with the reason, when the binary is missing (.ci/run
installs it).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from planner import gates
from planner.adapters import probes

PROMETHEUS = shutil.which("prometheus")
pytestmark = pytest.mark.skipif(
    PROMETHEUS is None,
    reason="prometheus is not installed (apt-get install prometheus; .ci/run does it)",
)
STEP = gates.GateSubject(
    "production-1",
    "production",
    ("prod-eu-west-1", "prod-eu-west-2"),
    {"prod-eu-west-1": {"region": "eu-west"}, "prod-eu-west-2": {"region": "eu-west"}},
)
DEADLINE = 60.0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Metrics:
    """The scrape target: `name{cluster=...} value` lines the tests change."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], float] = {}
        self.lock = threading.Lock()

    def set(self, metric: str, cluster: str, value: float | None) -> None:
        with self.lock:
            if value is None:
                self.values.pop((metric, cluster), None)
            else:
                self.values[(metric, cluster)] = value

    def text(self) -> bytes:
        with self.lock:
            lines = [
                f'{metric}{{cluster="{cluster}",region="eu-west"}} {value}'
                for (metric, cluster), value in sorted(self.values.items())
            ]
        return ("\n".join(lines) + "\n").encode()


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Metrics]]:
    metrics = Metrics()
    for cluster in STEP.clusters:
        metrics.set("http_requests_errors_ratio", cluster, 0.002)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = metrics.text()
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; version=0.0.4")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    target = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=target.serve_forever, daemon=True).start()
    folder = tmp_path_factory.mktemp("prometheus")
    config = folder / "prometheus.yml"
    config.write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        "scrape_configs:\n- job_name: fleet\n  scrape_interval: 1s\n  static_configs:\n"
        f"  - targets: ['127.0.0.1:{target.server_address[1]}']\n"
    )
    port = _free_port()
    assert PROMETHEUS is not None
    proc = subprocess.Popen(
        [
            PROMETHEUS,
            f"--config.file={config}",
            f"--storage.tsdb.path={folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--log.level=warn",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "prometheus.log").open("wb"),
        cwd=folder,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _poll(lambda: _value(url, "http_requests_errors_ratio") is not None, proc, folder)
        yield url, metrics
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        target.shutdown()
        target.server_close()


def _value(url: str, query: str) -> dict[str, float] | None:
    """{cluster: value} of an instant query, or None while Prometheus has nothing."""
    try:
        with urllib.request.urlopen(
            f"{url}/api/v1/query?{urllib.parse.urlencode({'query': query})}", timeout=2
        ) as response:
            data = json.loads(response.read())
    except OSError:
        return None
    result = data["data"]["result"]
    if not result:
        return None
    return {r["metric"].get("cluster", ""): float(r["value"][1]) for r in result}


def _poll(
    ready: Callable[[], bool],
    proc: subprocess.Popen[bytes] | None = None,
    folder: Path | None = None,
) -> None:
    """Poll (bounded) until `ready`: Prometheus scrapes every second."""
    deadline = time.monotonic() + DEADLINE
    while not ready():
        if proc is not None and proc.poll() is not None:
            log = (folder / "prometheus.log").read_text() if folder else ""
            pytest.fail(f"prometheus exited: {log[-2000:]}")
        if time.monotonic() > deadline:
            pytest.fail("prometheus did not get there in time")
        time.sleep(0.2)


def _gate(url: str, query: str, **check: Any) -> gates.GateSpec:
    return gates.GateSpec.model_validate(
        {"name": "error-rate", "prometheus": {"url": url, "query": query, **check}}
    )


ERRORS = 'max by (cluster) (http_requests_errors_ratio{cluster=~"{{clusters_regex}}"})'


def test_a_gate_passes_on_good_values(prometheus: tuple[str, Metrics]) -> None:
    url, _ = prometheus
    verdict = probes.evaluate([_gate(url, ERRORS, max=0.01)], STEP)
    assert verdict.passed, verdict.summary()
    assert "value 0.002" in verdict.summary()
    assert 'cluster=~"prod-eu-west-1|prod-eu-west-2"' in verdict.summary()


def test_a_gate_fails_naming_the_value_and_the_cluster(prometheus: tuple[str, Metrics]) -> None:
    url, metrics = prometheus
    metrics.set("http_requests_errors_ratio", "prod-eu-west-2", 0.5)
    try:
        _poll(
            lambda: (_value(url, "http_requests_errors_ratio") or {}).get("prod-eu-west-2") == 0.5
        )
        verdict = probes.evaluate([_gate(url, ERRORS, max=0.01)], STEP)
        assert not verdict.passed
        assert "value 0.5 (cluster=prod-eu-west-2) breaks max 0.01" in verdict.refusal()
    finally:
        metrics.set("http_requests_errors_ratio", "prod-eu-west-2", 0.002)


def test_the_regex_only_matches_the_steps_clusters(prometheus: tuple[str, Metrics]) -> None:
    url, metrics = prometheus
    metrics.set("http_requests_errors_ratio", "prod-eu-west-10", 0.9)
    _poll(lambda: "prod-eu-west-10" in (_value(url, "http_requests_errors_ratio") or {}))
    verdict = probes.evaluate([_gate(url, ERRORS, max=0.01)], STEP)
    assert verdict.passed, verdict.summary()


def test_for_holds_over_the_window(prometheus: tuple[str, Metrics]) -> None:
    url, metrics = prometheus
    for cluster in STEP.clusters:
        metrics.set("synced_ratio", cluster, 1)
    _poll(lambda: len(_value(url, "synced_ratio") or {}) == 2)
    gate = _gate(url, 'min(synced_ratio{cluster=~"{{clusters_regex}}"})', min=1, **{"for": "4s"})
    young = probes.evaluate([gate], STEP)
    assert not young.passed
    assert "held for only" in young.summary()
    _poll(lambda: probes.evaluate([gate], STEP).passed)
    # A dip inside the window fails it, even once the value is back.
    metrics.set("synced_ratio", "prod-eu-west-1", 0)
    _poll(lambda: (_value(url, "min(synced_ratio)") or {"": 1}).get("") == 0)
    metrics.set("synced_ratio", "prod-eu-west-1", 1)
    _poll(lambda: (_value(url, "min(synced_ratio)") or {}).get("") == 1)
    dipped = probes.evaluate([gate], STEP)
    assert not dipped.passed
    assert "value 0 breaks min 1" in dipped.summary()


def test_no_data_fails(prometheus: tuple[str, Metrics]) -> None:
    url, _ = prometheus
    verdict = probes.evaluate([_gate(url, 'absent_metric{cluster="x"}', max=1)], STEP)
    assert not verdict.passed
    assert "the query returned no data" in verdict.summary()


def test_a_bad_query_fails_with_prometheus_answer(prometheus: tuple[str, Metrics]) -> None:
    url, _ = prometheus
    verdict = probes.evaluate([_gate(url, "rate(", max=1)], STEP)
    assert not verdict.passed
    assert "cannot be evaluated: Prometheus answered HTTP 400" in verdict.summary()


def test_server_down_fails_the_gate() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    verdict = probes.evaluate([_gate(url, ERRORS, max=0.01)], STEP)
    assert not verdict.passed
    assert "cannot be evaluated: Prometheus unreachable" in verdict.summary()
