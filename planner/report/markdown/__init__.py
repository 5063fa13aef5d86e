"""The pull-request comment (`plan --format markdown`), sized for GitHub.

Owns what a reviewer reads on a pull request: a hidden marker (so a bot updates the same
comment), one summary line, violations and warnings, the changed layers, the steps with
their share of the fleet, the regions and compliance classes they cover and their gates, a
Mermaid diagram of the waves, and the per-cluster explanation chains folded in `<details>`.

GitHub refuses comments over 65,536 characters, and a change to a 5,000-cluster fleet says
far more than that. The comment is therefore built against a budget, section by section in
order of importance (summary, steps, findings, layers, diagram, lists, explanations): every
section that does not fit whole is trimmed with a note, and the footer points to the full
JSON plan. Every step is always named. Everything taken from the repository or the
inventory is escaped so it cannot break the Markdown or inject HTML (`escaping`); the
budget is `budget`, the steps table `steps`. Pure and deterministic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from planner.report.explanation import chain_lines
from planner.report.markdown.budget import JSON_COMMAND, Budget, fit, json_note
from planner.report.markdown.escaping import clip, code, counted, name_list, pre, text
from planner.report.markdown.steps import steps_table
from planner.report.table import RANGE_NOTES, percent
from planner.report.warnings import fix_of, folded_warnings

if TYPE_CHECKING:
    from planner.findings import Finding
    from planner.impact import Reason
    from planner.plan import AffectedCluster, Plan, StepSummary

__all__ = ["LIMIT", "MARKER", "code", "pre", "render_plan", "summary_line", "text"]

MARKER = "<!-- wave-planner:plan -->"
LIMIT = 65_536
MAX_FILES = 3  # files shown per changed layer
MAX_LISTED = 50  # names in the removed / unowned / ignored / traced lists
MERMAID_STEPS = 30  # above this, the diagram shows one node per wave
_TRIM_NOTE_MAX = 400  # the "what was trimmed" list never says more than this

_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/,()%+·…=-]")


def _mermaid(*lines: str) -> str:
    """A quoted Mermaid label: safe characters only, one `<br/>` between lines."""
    return '"' + "<br/>".join(_MERMAID_UNSAFE.sub("_", line) for line in lines) + '"'


# --------------------------------------------------------------------------- the comment


def render_plan(plan: Plan, limit: int = LIMIT) -> str:
    """The PR comment: at most `limit` characters, the summary and every step always shown."""
    header = _header(plan)
    budget = Budget(limit - len(header) - len(_footer(plan, ["x" * _TRIM_NOTE_MAX])) - 2)
    steps = budget.take(steps_table(plan, budget))
    findings = budget.take(_findings(plan, budget))
    changes = budget.take(_rendered_changes(plan, budget))
    warnings = budget.take(folded_warnings(plan.warnings, budget.share(0.5), budget.trimmed))
    layers = budget.take(_layers(plan, budget))
    diagram = budget.take(_diagram(plan, budget))
    lists = budget.take(_lists(plan, budget))
    details = budget.take(_details(plan, budget))
    sections = [
        header,
        findings,
        layers,
        steps,
        changes,
        diagram,
        details,
        lists,
        warnings,
        _footer(plan, budget.trimmed),
    ]
    return "\n".join(s for s in sections if s)


def summary_line(plan: Plan) -> str:
    s = plan.summary
    parts = [
        f"**{s.clusters_affected:,} of {counted(s.clusters_total, 'cluster')}** "
        f"({percent(s.clusters_affected, s.clusters_total)})",
        f"blast radius **{text(s.scope)}**",
        f"**{counted(s.steps, 'step')}**",
    ]
    if s.violations:
        parts.append(f"**{counted(s.violations, 'violation')}**")
    if s.warnings:
        parts.append(counted(s.warnings, "warning"))
    if plan.emergency is not None:
        parts.append(f"**EMERGENCY**: {text(clip(plan.emergency.reason))}")
    return " · ".join(parts)


def _header(plan: Plan) -> str:
    out = [
        MARKER,
        f"<!-- wave-planner:plan-id {plan.id} -->",
        f"### Rollout plan: {summary_line(plan)}",
        "",
    ]
    if plan.emergency is not None:
        out += [
            "> [!IMPORTANT]",
            f"> Emergency rollout: every affected cluster is in one step, no wave waits. "
            f"Reason: {text(clip(plan.emergency.reason, 1000))}",
            "",
        ]
    if not plan.affected:
        out += ["No cluster is affected by this change.", ""]
    return "\n".join(out)


def _relative(source: str) -> str:
    """A source as the reader knows it: an absolute path (a CI runner's) becomes its name."""
    if source.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", source):
        return source.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return source


def _footer(plan: Plan, trimmed: Sequence[str]) -> str:
    out = []
    if trimmed:
        out += [
            "> [!NOTE]",
            f"> Trimmed to fit GitHub's {LIMIT:,}-character comment limit: "
            f"{'; '.join(trimmed)}. The full plan: `{JSON_COMMAND}`.",
            "",
        ]
    out.append(
        f"<sub>plan {code(plan.id)} · {code(plan.base[:12])}..{code(plan.head[:12])} · "
        f"policy {text(clip(_relative(plan.policy.source)))} · "
        f"inventory {text(clip(_relative(plan.inventory.source)))} · "
        f"full plan: `{JSON_COMMAND}`</sub>"
    )
    return "\n".join(out) + "\n"


# --------------------------------------------------------------------------- findings


def _finding(f: Finding) -> str:
    where = []
    if f.cluster:
        where.append(f"cluster {code(f.cluster)}")
    if f.file:
        where.append(f"file {code(f.file)}")
    line = f"> - **{text(f.code)}**" + (" · " + " · ".join(where) if where else "")
    line += f"<br>{text(clip(f.message, 1000))}"
    if f.values:
        line += "<br>values: " + "; ".join(
            f"{text(clip(k))} = {code(clip(v))}" for k, v in f.values.items()
        )
    if fix_of(f):
        line += f"<br>fix: {text(clip(fix_of(f) or '', 500))}"
    return line + "\n"


def _findings_block(
    findings: Sequence[Finding], kind: str, alert: str, lead: str, budget: int
) -> tuple[str, int]:
    if not findings:
        return "", 0
    head = f"> [!{alert}]\n> **{counted(len(findings), kind)}** {lead}\n>\n"
    items = [_finding(f) for f in findings]
    more = json_note(f"{kind}(s)", prefix=">\n> ")
    block, omitted = fit(head, items, len(items), more, budget)
    if not block:  # not even one: the count alone, if that fits
        block = head.removesuffix(">\n") + more(len(findings)).removeprefix(">\n")
        block = block if len(block) <= budget else ""
        omitted = len(findings)
    return block, omitted


def _findings(plan: Plan, budget: Budget) -> str:
    room = budget.share(0.5)
    violations, v_omitted = _findings_block(
        plan.violations, "violation", "CAUTION", "must be fixed before this rolls out:", room
    )
    if v_omitted:
        budget.trimmed.append(f"{v_omitted:,} violation(s)")
    notes = [w for w in plan.warnings if w.code in RANGE_NOTES]
    said = "".join(f"> [!NOTE]\n> {text(clip(w.message, 500))}\n" for w in notes)
    return "\n".join(b for b in (violations, said) if b)


# --------------------------------------------------------------------------- layers


def _layers(plan: Plan, budget: Budget) -> str:
    rows = [
        f"| {code(layer.path)} | {text(layer.scope.value)} | {layer.clusters:,} | "
        f"{name_list(layer.files, MAX_FILES)} |\n"
        for layer in plan.changed_layers
    ]
    inventory = [a for a in plan.affected if any(r.kind == "inventory" for r in a.reasons)]
    if inventory:
        rows.append(
            f"| inventory | inventory | {len(inventory):,} | {code(clip(plan.inventory.source))} "
            "(entries added or retargeted) |\n"
        )
    if not rows:
        return ""
    head = "#### Changed layers\n\n| layer | scope | clusters | files |\n|---|---|--:|---|\n"
    section, omitted = fit(head, rows, len(rows), json_note("changed layers"), budget.share(0.5))
    if omitted:
        budget.trimmed.append(f"{omitted:,} changed layer(s)")
    return section


# --------------------------------------------------------------------------- diagram


def _diagram(plan: Plan, budget: Budget) -> str:
    if not plan.waves:
        return ""
    lines = _mermaid_lines(plan, collapse=len(plan.waves) > MERMAID_STEPS)
    section = "#### Waves\n\n```mermaid\n" + "\n".join(lines) + "\n```\n"
    if len(section) > budget.share(0.5):
        budget.trimmed.append("the wave diagram")
        return ""
    return section


def _wave_order(plan: Plan) -> list[str]:
    """Waves in policy order: stepped and skipped ones (skipped empty waves after their peer)."""
    known = [m.wave for m in plan.membership]
    stepped = {s.wave for s in plan.waves}
    order = [w for w in known if w in stepped or w in plan.skipped_waves]
    for w in dict.fromkeys(s.wave for s in plan.waves):
        if w not in order:
            order.append(w)
    for i, wave in enumerate(plan.skipped_waves):
        if wave not in order:
            before = plan.skipped_waves[i - 1] if i else None
            order.insert(order.index(before) + 1 if before in order else 0, wave)
    return order


def _mermaid_lines(plan: Plan, *, collapse: bool) -> list[str]:
    by_wave: dict[str, list[StepSummary]] = {}
    for step in plan.waves:
        by_wave.setdefault(step.wave, []).append(step)
    nodes: list[tuple[str, str, StepSummary | None, StepSummary | None]] = []
    for wave in _wave_order(plan):
        steps = by_wave.get(wave, [])
        if not steps:
            label = _mermaid(wave, "skipped: no affected cluster")
            nodes.append((f"k{len(nodes)}", f"[{label}]:::skipped", None, None))
        elif collapse and len(steps) > 1:
            n = sum(len(s.clusters) for s in steps)
            label = _mermaid(
                f"{steps[0].name} … {steps[-1].name}",
                f"{len(steps):,} steps · {counted(n, 'cluster')}",
            )
            nodes.append((f"s{len(nodes)}", f"[{label}]", steps[0], steps[-1]))
        else:
            for step in steps:
                label = _mermaid(step.name, counted(len(step.clusters), "cluster"))
                nodes.append((f"s{len(nodes)}", f"[{label}]", step, step))
    lines = ["flowchart LR", "  classDef skipped stroke-dasharray: 5 5,color:#888"]
    lines += [f"  {ident}{shape}" for ident, shape, _, _ in nodes]
    previous: StepSummary | None = None
    for (a, _, _, last), (b, _, first, _) in itertools.pairwise(nodes):
        previous = last or previous
        gate = []
        if previous is not None and previous.bake and last is not None:
            gate.append(f"bake {previous.bake}")
        if first is not None and first.approval == "required":
            gate.append("approval")
        arrow = "-->" if first is not None and last is not None else "-.->"
        label = f"|{_mermaid(', '.join(gate))}|" if gate else ""
        lines.append(f"  {a} {arrow}{label} {b}")
    return lines


# --------------------------------------------------------------------------- lists


def _lists(plan: Plan, budget: Budget) -> str:
    entries = [
        ("Removed from the inventory", plan.removed),
        ("Traced but rendered unchanged", plan.traced_unchanged),
        ("Changed files no cluster reaches", plan.unowned),
        ("Ignored changed files", plan.ignored),
    ]
    lines = [
        f"- **{title}** ({len(names):,}): {name_list(list(names), MAX_LISTED)}\n"
        for title, names in entries
        if names
    ]
    section, omitted = fit(
        "", lines, len(lines), json_note("list(s)", prefix=""), budget.share(0.5)
    )
    if omitted:
        budget.trimmed.append(f"{omitted:,} list(s) of removed clusters or files")
    return section


# --------------------------------------------------------------------------- explanations


def _ordered_affected(plan: Plan) -> list[AffectedCluster]:
    """Affected clusters in rollout order (step by step), unplaced ones last."""
    by_name = {a.cluster: a for a in plan.affected}
    ordered = [by_name[c] for s in plan.waves for c in s.clusters if c in by_name]
    seen = {a.cluster for a in ordered}
    return ordered + [a for a in plan.affected if a.cluster not in seen]


def _short(reason: Reason) -> str:
    if reason.kind == "layer" and reason.layer:
        return (
            f"{text(reason.scope.value if reason.scope else 'shared')} layer {code(reason.layer)}"
        )
    return text(clip(reason.summary, 100))


def _cluster_block(entry: AffectedCluster) -> str:
    where = f"step {text(entry.step)}" if entry.step else "in no step"
    why = _short(entry.reasons[0]) if entry.reasons else "-"
    if len(entry.reasons) > 1:
        why += f" (+{len(entry.reasons) - 1} more)"
    out = [
        f"<details><summary>{code(entry.cluster)} · {where} · {why}</summary>",
        "",
        f"**Why this wave:** {text(clip(entry.placement, 500))}",
        "",
    ]
    for reason in entry.reasons:
        out.append(f"**Why this cluster:** {text(clip(reason.summary, 500))}")
        if reason.chain:
            out += ["<pre>", pre("\n".join(chain_lines(reason, indent=""))), "</pre>"]
        out.append("")
    out += ["</details>", ""]
    return "\n".join(out)


def _details(plan: Plan, budget: Budget) -> str:
    if not plan.affected:
        return ""
    entries = _ordered_affected(plan)
    head = "#### Why these clusters\n\n"
    blocks = (_cluster_block(e) for e in entries)
    more = json_note(
        "cluster(s)",
        where=f"in `{JSON_COMMAND}` (every chain; `wave-planner explain CLUSTER` prints one)",
    )
    section, omitted = fit(head, blocks, len(entries), more, budget.left)
    if omitted:
        budget.trimmed.append(f"explanations of {omitted:,} cluster(s)")
    return section


# --------------------------------------------------------------- rendered changes (precise)


def _rendered_changes(plan: Plan, budget: Budget) -> str:
    """Precise mode's diff groups (`planner.report.diff_comment`), up to 60% of what is left."""
    if not plan.diff_groups:
        return ""
    from planner.report import diff_comment

    section, omitted = diff_comment.render_groups(plan, budget.share(0.6))
    if omitted:
        budget.trimmed.append(f"{omitted:,} group(s) of rendered changes")
    return section
