"""The HTML report (`plan --format html`): self-contained, escaped, and working in a real
headless Chromium (loads without a console error, search finds a cluster, a group's diff
expands)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.cli import app
from planner.diff_groups import DiffGroup, ObjectChange
from planner.report import html
from tests.testing.browser import Browser, find_chromium
from tests.testing.fleetrepo import FleetRepo
from tests.testing.marks import requires_kubectl
from tests.testing.memfleet import memory_plan

CHROMIUM = find_chromium()
requires_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="headless browser test: chromium is not installed (apt-get install chromium)",
)

NASTY = '<script>alert(1)</script>" onmouseover="x'


def _page_with_groups() -> str:
    plan = memory_plan(30)
    group = DiffGroup(
        id="0123456789ab",
        clusters=tuple(a.cluster for a in plan.affected),
        objects=(ObjectChange(object=f"ConfigMap/{NASTY}", change="changed"),),
        diff=f"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-{NASTY}\n+safe\n",
    )
    affected = tuple(a.model_copy(update={"diff_group": group.id}) for a in plan.affected)
    return html.render_plan(plan.model_copy(update={"diff_groups": (group,), "affected": affected}))


def test_the_page_is_self_contained() -> None:
    page = _page_with_groups()
    assert page.startswith("<!DOCTYPE html>")
    assert "<link" not in page
    assert not re.search(r"\bsrc=", page)
    assert not re.search(r"url\(", page)
    assert page.count("<script>") == 1  # ours, inline


def test_everything_from_the_repository_is_escaped() -> None:
    page = _page_with_groups()
    assert NASTY not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&quot; onmouseover=&quot;x" in page


def test_the_page_is_deterministic() -> None:
    assert _page_with_groups() == _page_with_groups()


def _report(built: FleetRepo, dest: Path) -> Path:
    result = CliRunner().invoke(
        app,
        [
            "plan",
            "--repo",
            str(built.path),
            "--base",
            built.base,
            "--head",
            built.head,
            "--precise",
            "--format",
            "html",
        ],
    )
    assert result.exit_code == 0, result.output
    dest.write_text(result.stdout, encoding="utf-8")
    return dest


VISIBLE_ROWS = (
    "[...document.querySelectorAll('tr[data-cluster]')]"
    ".filter(r => r.offsetParent !== null).map(r => r.dataset.cluster)"
)
VISIBLE_GROUPS = (
    "[...document.querySelectorAll('details.group')]"
    ".filter(d => d.offsetParent !== null).map(d => d.dataset.clusters)"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module's pages (starting one costs about a CPU-second)."""
    assert CHROMIUM is not None
    with Browser(CHROMIUM) as opened:
        yield opened


def check_in_browser(
    browser: Browser, page: Path, query: str, found: list[str], diff_line: str
) -> None:
    """Load `page` in headless Chromium: no console error, no request but the file itself,
    searching `query` shows exactly the rows `found` and their one group, whose diff
    (holding `diff_line`) expands on a real click."""
    browser.console_errors.clear()
    browser.requests.clear()
    browser.load(page)
    rows = browser.evaluate(VISIBLE_ROWS)
    assert set(found) < set(rows)
    browser.type_text("#search", query)
    assert browser.evaluate(VISIBLE_ROWS) == found
    assert browser.evaluate("document.getElementById('matches').textContent") == (
        f"{len(found)} affected cluster(s) match"
    )
    (clusters,) = browser.evaluate(VISIBLE_GROUPS)
    assert set(found) <= set(clusters.split())
    selector = f"details.group[data-clusters='{clusters}']"
    visible = f'document.querySelector("{selector} pre").checkVisibility()'
    assert browser.evaluate(visible) is False
    browser.click(f"{selector} > summary")
    assert browser.evaluate(f'document.querySelector("{selector}").open') is True
    assert browser.evaluate(visible) is True
    diff = browser.evaluate(f'document.querySelector("{selector} pre").innerText')
    assert diff_line in diff
    for name in found:  # each cluster's why-chain is on the page
        assert "clusters/" in browser.evaluate(f"document.getElementById('why-{name}').textContent")
    assert browser.console_errors == []
    assert all(url.startswith("file:") for url in browser.requests), browser.requests


@requires_chromium
def test_a_synthetic_page_in_headless_chromium(browser: Browser, tmp_path: Path) -> None:
    plan = memory_plan(60)
    names = [a.cluster for a in plan.affected]
    groups = (
        DiffGroup(
            id="aaaaaaaaaaaa",
            clusters=tuple(names[:-1]),
            objects=(ObjectChange(object="ConfigMap/apps/settings", change="changed"),),
            diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-replicas: 2\n+replicas: 3\n",
        ),
        DiffGroup(
            id="bbbbbbbbbbbb",
            clusters=(names[-1],),
            objects=(ObjectChange(object="ConfigMap/apps/settings", change="changed"),),
            diff="--- a/x\n+++ b/x\n@@ -1 +1 @@\n-replicas: 2\n+replicas: 9\n",
        ),
    )
    of = {c: g.id for g in groups for c in g.clusters}
    affected = tuple(a.model_copy(update={"diff_group": of[a.cluster]}) for a in plan.affected)
    page = tmp_path / "report.html"
    page.write_text(
        html.render_plan(plan.model_copy(update={"diff_groups": groups, "affected": affected}))
    )
    check_in_browser(browser, page, names[-1], [names[-1]], "+replicas: 9")


@requires_chromium
@requires_kubectl
def test_a_real_report_in_headless_chromium(
    browser: Browser,
    fleet: Callable[[str], FleetRepo],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    render_cache: Path,
) -> None:
    monkeypatch.setenv("WAVE_PLANNER_CACHE", str(render_cache))
    page = _report(fleet("generator-file"), tmp_path / "report.html")
    check_in_browser(
        browser, page, "us-east", ["prod-us-east-1"], "+      receiver: opsgenie-payments"
    )


def screenshot(built: FleetRepo, dest: Path, work: Path) -> None:
    """The docs' screenshot: the report of `generator-file`, the largest group expanded."""
    page = _report(built, work / "report.html")
    assert CHROMIUM is not None
    with Browser(CHROMIUM, width=1100, height=1250) as browser:
        browser.load(page)
        browser.click("details.group > summary")
        browser.evaluate("window.scrollTo(0, 0)")
        browser.screenshot(dest)


if __name__ == "__main__":  # python -m tests.report.test_html docs/precise-report.png
    import sys
    import tempfile

    from tests.testing.fleetrepo import SCENARIOS_DIR, build_fleet_repo

    with tempfile.TemporaryDirectory() as scratch:
        work = Path(scratch)
        repo = build_fleet_repo(SCENARIOS_DIR / "generator-file", work / "fleet")
        screenshot(repo, Path(sys.argv[1]), work)
