"""The plan as one self-contained HTML page (`plan --format html`, best with `--precise`).

What a reviewer or release manager opens from a CI artifact: the summary, the findings, the
waves and their steps, the rendered changes grouped by effect (each group's unified diff in a
collapsed block, lines coloured), and every affected cluster with its step, its group and its
why-chain. A search box filters the steps, groups and clusters by cluster name.

Everything is inline (CSS and a few lines of JavaScript), nothing is fetched: the page works
offline and from a file. Everything taken from the repository or the inventory is
HTML-escaped. Pure and deterministic.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from planner.report.explanation import chain_lines
from planner.report.table import gates_text

if TYPE_CHECKING:
    from planner.diff_groups import DiffGroup
    from planner.findings import Finding
    from planner.plan import AffectedCluster, Plan

_SIGN = {"added": "+", "removed": "-", "changed": "~"}
MAX_STEP_NAMES = 12  # cluster names shown in a step row before "+N more"

CSS = """
:root { --fg:#1f2328; --muted:#59636e; --line:#d1d9e0; --bg:#f6f8fa; --add:#dafbe1;
  --del:#ffebe9; --hunk:#ddf4ff; --warn:#9a6700; --bad:#d1242f; }
* { box-sizing: border-box; }
body { font: 14px/1.5 -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: var(--fg);
  margin: 0 auto; max-width: 1200px; padding: 16px 24px 48px; }
h1 { font-size: 22px; margin: 8px 0 4px; } h2 { font-size: 18px; margin: 28px 0 8px;
  border-bottom: 1px solid var(--line); padding-bottom: 4px; }
.meta, .muted { color: var(--muted); }
code, pre { font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
th { background: var(--bg); }
td.n { text-align: right; white-space: nowrap; }
#search { width: 100%; font-size: 15px; padding: 8px 10px; border: 1px solid var(--line);
  border-radius: 6px; margin: 12px 0 4px; }
details { border: 1px solid var(--line); border-radius: 6px; margin: 8px 0; }
details > summary { cursor: pointer; padding: 6px 10px; background: var(--bg); }
details[open] > summary { border-bottom: 1px solid var(--line); }
details .body { padding: 8px 12px; }
pre.diff { margin: 0; overflow-x: auto; padding: 8px 0; }
pre.diff span { display: block; padding: 0 10px; white-space: pre; }
pre.diff .add { background: var(--add); } pre.diff .del { background: var(--del); }
pre.diff .hunk { background: var(--hunk); color: var(--muted); }
pre.diff .file { font-weight: 600; }
pre.chain { margin: 4px 0 8px; background: var(--bg); padding: 6px 10px; overflow-x: auto; }
.violation { color: var(--bad); } .warning { color: var(--warn); }
.hidden { display: none; }
.pill { display: inline-block; padding: 0 6px; border-radius: 10px; background: var(--bg);
  border: 1px solid var(--line); font-size: 12px; }
"""

SCRIPT = """
(function () {
  var box = document.getElementById('search');
  var count = document.getElementById('matches');
  var items = Array.prototype.slice.call(document.querySelectorAll('[data-clusters]'));
  var rows = Array.prototype.slice.call(document.querySelectorAll('tr[data-cluster]'));
  function filter() {
    var q = box.value.trim().toLowerCase();
    var found = 0;
    rows.forEach(function (row) {
      var hit = !q || row.getAttribute('data-cluster').toLowerCase().indexOf(q) !== -1;
      row.classList.toggle('hidden', !hit);
      var why = document.getElementById('why-' + row.getAttribute('data-cluster'));
      if (why) { why.classList.toggle('hidden', !hit); }
      if (hit) { found += 1; }
    });
    items.forEach(function (item) {
      var names = item.getAttribute('data-clusters').toLowerCase().split(' ');
      var hit = !q || names.some(function (n) { return n.indexOf(q) !== -1; });
      item.classList.toggle('hidden', !hit);
    });
    count.textContent = q ? found + ' affected cluster(s) match' : '';
  }
  box.addEventListener('input', filter);
  if (window.location.hash.indexOf('#q=') === 0) {
    box.value = decodeURIComponent(window.location.hash.slice(3));
    filter();
  }
})();
"""


def _e(value: str) -> str:
    return escape(value, quote=True)


def _summary(plan: Plan) -> str:
    s = plan.summary
    share = f"{100 * s.clusters_affected / s.clusters_total:.0f}%" if s.clusters_total else "-"
    parts = [
        f"<b>{s.clusters_affected:,} of {s.clusters_total:,} clusters</b> ({share})",
        f"blast radius <b>{_e(s.scope)}</b>",
        f"<b>{s.steps:,} step(s)</b>",
    ]
    if plan.diff_groups:
        parts.append(f"<b>{len(plan.diff_groups):,} distinct rendered change(s)</b>")
    if s.violations:
        parts.append(f'<span class="violation"><b>{s.violations:,} violation(s)</b></span>')
    if s.warnings:
        parts.append(f'<span class="warning">{s.warnings:,} warning(s)</span>')
    return " · ".join(parts)


def _findings(plan: Plan) -> list[str]:
    if not plan.violations and not plan.warnings:
        return []
    out = ["<h2>Findings</h2>", "<ul>"]
    for f in (*plan.violations, *plan.warnings):
        out.append(_finding(f))
    out.append("</ul>")
    return out


def _finding(f: Finding) -> str:
    where = " · ".join(x for x in (f"cluster {f.cluster}" if f.cluster else "", f.file or "") if x)
    fix = f"<br><span class='muted'>fix: {_e(f.fix)}</span>" if f.fix else ""
    return (
        f'<li class="{_e(f.severity)}"><b>{_e(f.code)}</b>'
        f"{' · ' + _e(where) if where else ''}<br>{_e(f.message)}{fix}</li>"
    )


def _steps(plan: Plan) -> list[str]:
    if not plan.waves:
        return []
    out = [
        "<h2>Waves and steps</h2>",
        "<table><thead><tr><th>#</th><th>step</th><th>wave</th><th>clusters</th>"
        "<th>regions</th><th>gates</th></tr></thead><tbody>",
    ]
    for number, step in enumerate(plan.waves, 1):
        names = ", ".join(_e(c) for c in step.clusters[:MAX_STEP_NAMES])
        if len(step.clusters) > MAX_STEP_NAMES:
            names += f" <span class='muted'>+{len(step.clusters) - MAX_STEP_NAMES:,} more</span>"
        out.append(
            f'<tr data-clusters="{_e(" ".join(step.clusters))}"><td class="n">{number}</td>'
            f"<td>{_e(step.name)}</td><td>{_e(step.wave)}</td>"
            f'<td><span class="pill">{len(step.clusters):,}</span> {names}</td>'
            f"<td>{_e(', '.join(step.regions)) or '-'}</td>"
            f"<td>{_e(gates_text(step.bake, step.approval))}</td></tr>"
        )
    out.append("</tbody></table>")
    return out


def _diff_lines(diff: str) -> str:
    spans = []
    for line in diff.splitlines():
        if line.startswith(("+++", "---")):
            cls = "file"
        elif line.startswith("@@"):
            cls = "hunk"
        elif line.startswith("+"):
            cls = "add"
        elif line.startswith("-"):
            cls = "del"
        else:
            cls = "ctx"
        spans.append(f'<span class="{cls}">{_e(line)}</span>')
    return "".join(spans)


def _group(group: DiffGroup) -> str:
    n = len(group.clusters)
    plural = "s" if len(group.regions) > 1 else ""
    regions = f" · region{plural} {_e(', '.join(group.regions))}" if group.regions else ""
    objects = ", ".join(f"{_SIGN[o.change]}{_e(o.object)}" for o in group.objects)
    placeholders = (
        f"<p class='muted'>Placeholders stand for each cluster's own values: "
        f"{_e(', '.join(group.placeholders))}.</p>"
        if group.placeholders
        else ""
    )
    return (
        f'<details class="group" id="group-{_e(group.id)}" '
        f'data-clusters="{_e(" ".join(group.clusters))}">'
        f"<summary><b>{n:,} cluster{'s' if n != 1 else ''}</b>{regions} · "
        f"{len(group.objects):,} object(s) · group <code>{_e(group.id)}</code></summary>"
        f'<div class="body"><p><b>Objects:</b> <code>{objects}</code></p>'
        f"<p><b>Clusters:</b> {_e(', '.join(group.clusters))}</p>{placeholders}"
        f'<pre class="diff">{_diff_lines(group.diff)}</pre></div></details>'
    )


def _groups(plan: Plan) -> list[str]:
    if not plan.diff_groups:
        return []
    return [
        "<h2>Rendered changes</h2>",
        "<p class='muted'>Clusters grouped by the effect of the change on their rendered "
        "objects, largest group first.</p>",
        *(_group(g) for g in plan.diff_groups),
    ]


def _cluster_row(entry: AffectedCluster) -> str:
    render = entry.render.describe() if entry.render is not None else "-"
    group = (
        f'<a href="#group-{_e(entry.diff_group)}"><code>{_e(entry.diff_group)}</code></a>'
        if entry.diff_group
        else "-"
    )
    chains = []
    for reason in entry.reasons:
        chains.append(f"<div>{_e(reason.summary)}</div>")
        if reason.chain:
            chains.append(
                f'<pre class="chain">{_e(chr(10).join(chain_lines(reason, indent="")))}</pre>'
            )
    why = (
        f'<details id="why-{_e(entry.cluster)}"><summary>why</summary><div class="body">'
        f"<div><b>Wave:</b> {_e(entry.placement)}</div>{''.join(chains)}</div></details>"
    )
    return (
        f'<tr data-cluster="{_e(entry.cluster)}"><td><code>{_e(entry.cluster)}</code></td>'
        f"<td>{_e(entry.step or '-')}</td><td>{_e(entry.wave or '-')}</td><td>{group}</td>"
        f"<td>{_e(render)}</td><td>{why}</td></tr>"
    )


def _clusters(plan: Plan) -> list[str]:
    if not plan.affected:
        return ["<p>No cluster is affected by this change.</p>"]
    return [
        "<h2>Affected clusters</h2>",
        "<table><thead><tr><th>cluster</th><th>step</th><th>wave</th><th>group</th>"
        "<th>rendered change</th><th>why</th></tr></thead><tbody>",
        *(_cluster_row(a) for a in plan.affected),
        "</tbody></table>",
    ]


def _lists(plan: Plan) -> list[str]:
    entries = [
        ("Traced but rendered unchanged", plan.traced_unchanged),
        ("Removed from the inventory", plan.removed),
        ("Changed files no cluster reaches", plan.unowned),
    ]
    out = []
    for title, names in entries:
        if names:
            out.append(
                f"<h2>{_e(title)} ({len(names):,})</h2><p><code>{_e(', '.join(names))}</code></p>"
            )
    return out


def render_plan(plan: Plan) -> str:
    """The whole page (UTF-8 text)."""
    body = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>Rollout plan {_e(plan.id)}</title>",
        f"<style>{CSS}</style></head><body>",
        "<h1>Rollout plan</h1>",
        f'<div class="meta">plan <code>{_e(plan.id)}</code> · <code>{_e(plan.base[:12])}'
        f"</code>..<code>{_e(plan.head[:12])}</code> · policy {_e(plan.policy.source)} · "
        f"inventory {_e(plan.inventory.source)}</div>",
        f'<p id="summary">{_summary(plan)}</p>',
        '<input id="search" type="search" placeholder="Search clusters by name" '
        'autocomplete="off" aria-label="Search clusters by name">',
        '<div id="matches" class="muted"></div>',
        *_findings(plan),
        *_steps(plan),
        *_groups(plan),
        *_clusters(plan),
        *_lists(plan),
        f"<script>{SCRIPT}</script>",
        "</body></html>",
    ]
    return "\n".join(body) + "\n"
