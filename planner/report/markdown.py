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
inventory is escaped so it cannot break the Markdown or inject HTML. Pure and deterministic.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from planner.report.explanation import chain_lines
from planner.report.table import RANGE_NOTES, percent
from planner.report.warnings import fix_of, folded_warnings

if TYPE_CHECKING:
    from planner.guardrails import Finding
    from planner.impact import Reason
    from planner.plan import AffectedCluster, Plan, StepSummary

MARKER = "<!-- wave-planner:plan -->"
LIMIT = 65_536
JSON_COMMAND = "wave-planner plan --format json"
MAX_NAMES = 5  # cluster names shown in a step row
MAX_VALUES = 6  # label values (regions, compliance) shown in a cell
MAX_FILES = 3  # files shown per changed layer
MAX_LISTED = 50  # names in the removed / unowned / ignored / traced lists
MERMAID_STEPS = 30  # above this, the diagram shows one node per wave
_TRIM_NOTE_MAX = 400  # the "what was trimmed" list never says more than this

# --------------------------------------------------------------------------- escaping

_MARKDOWN_SPECIAL = frozenset("\\`*_[]|~$")
_HTML_SPECIAL = {"&": "&amp;", "<": "&lt;", ">": "&gt;"}


def text(value: str) -> str:
    """Inline Markdown that shows `value` literally (also inside a table cell)."""
    out = []
    for ch in value:
        if ch in _HTML_SPECIAL:
            out.append(_HTML_SPECIAL[ch])
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif _is_control(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def code(value: str) -> str:
    """A name or path in monospace (GitHub links no mention or issue inside `<code>`)."""
    return f"<code>{text(_clip(value, 300))}</code>"


def pre(value: str) -> str:
    """Text for a `<pre>` block: HTML-escaped, so it cannot end the block early."""
    out = []
    for ch in "\n".join(_clip(line, 500) for line in value.split("\n")):
        if ch in _HTML_SPECIAL:
            out.append(_HTML_SPECIAL[ch])
        elif ch != "\n" and _is_control(ch):
            out.append("\ufffd")
        else:
            out.append(ch)
    return "".join(out)


def _clip(value: str, limit: int = 200) -> str:
    """Free text from the user, cut so that one value cannot fill the comment."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def _is_control(ch: str) -> bool:
    return ord(ch) < 32 or 127 <= ord(ch) < 160 or ch in "\u2028\u2029"


_MERMAID_UNSAFE = re.compile(r"[^A-Za-z0-9 ._:/,()%+·…=-]")


def _mermaid(*lines: str) -> str:
    """A quoted Mermaid label: safe characters only, one `<br/>` between lines."""
    return '"' + "<br/>".join(_MERMAID_UNSAFE.sub("_", line) for line in lines) + '"'


# --------------------------------------------------------------------------- numbers


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n:,} {noun if n == 1 else (plural or noun + 's')}"


def _names(names: Sequence[str], limit: int, fmt: Callable[[str], str] = code) -> str:
    shown = ", ".join(fmt(n) for n in names[:limit])
    return shown + (f" +{len(names) - limit:,} more" if len(names) > limit else "")


def gates(step: StepSummary) -> str:
    parts = []
    if step.approval == "required":
        parts.append("approval")
    if step.bake:
        parts.append(f"bake {text(step.bake)}")
    return ", ".join(parts) or "-"


# --------------------------------------------------------------------------- budget


@dataclass
class _Budget:
    """What is left of the comment limit, and what had to be left out."""

    left: int
    trimmed: list[str] = field(default_factory=list)

    def share(self, fraction: float) -> int:
        return max(0, int(self.left * fraction))

    def take(self, section: str) -> str:
        if section:
            self.left -= len(section) + 1  # sections are joined by a newline
        return section


def _fit(
    head: str, items: Iterable[str], total: int, more: Callable[[int], str], budget: int
) -> tuple[str, int]:
    """`head` + as many of the `total` items as fit in `budget` + `more(left out)`.

    Items are consumed lazily (only those that may be shown are rendered); "" when not even
    `head` and the note fit.
    """
    reserve = len(more(total)) if total else 0
    shown: list[str] = []
    used = len(head)
    tail: list[str] = []  # items that fit only if nothing is left out (no note needed)
    tail_size = 0
    for item in items:
        if not tail and used + len(item) + reserve <= budget:
            shown.append(item)
            used += len(item)
            continue
        tail.append(item)
        tail_size += len(item)
        if used + tail_size > budget:
            break
    else:
        if used + tail_size <= budget:
            return head + "".join(shown + tail), 0
    if used + reserve > budget:
        return "", total
    omitted = total - len(shown)
    return head + "".join(shown) + more(omitted), omitted


def _json_note(what: str, prefix: str = "\n", where: str = "") -> Callable[[int], str]:
    """The line that says how many items were left out, and where to find them."""
    where = where or f"in the full plan (`{JSON_COMMAND}`)"

    def note(n: int) -> str:
        return f"{prefix}_…and {n:,} more {what} {where}._\n"

    return note


# --------------------------------------------------------------------------- the comment


def render_plan(plan: Plan, limit: int = LIMIT) -> str:
    """The PR comment: at most `limit` characters, the summary and every step always shown."""
    header = _header(plan)
    budget = _Budget(limit - len(header) - len(_footer(plan, ["x" * _TRIM_NOTE_MAX])) - 2)
    steps = budget.take(_steps(plan, budget))
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
        f"**{s.clusters_affected:,} of {_count(s.clusters_total, 'cluster')}** "
        f"({percent(s.clusters_affected, s.clusters_total)})",
        f"blast radius **{text(s.scope)}**",
        f"**{_count(s.steps, 'step')}**",
    ]
    if s.violations:
        parts.append(f"**{_count(s.violations, 'violation')}**")
    if s.warnings:
        parts.append(_count(s.warnings, "warning"))
    if plan.emergency is not None:
        parts.append(f"**EMERGENCY**: {text(_clip(plan.emergency.reason))}")
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
            f"Reason: {text(_clip(plan.emergency.reason, 1000))}",
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
        f"policy {text(_clip(_relative(plan.policy.source)))} · "
        f"inventory {text(_clip(_relative(plan.inventory.source)))} · "
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
    line += f"<br>{text(_clip(f.message, 1000))}"
    if f.values:
        line += "<br>values: " + "; ".join(
            f"{text(_clip(k))} = {code(_clip(v))}" for k, v in f.values.items()
        )
    if fix_of(f):
        line += f"<br>fix: {text(_clip(fix_of(f) or '', 500))}"
    return line + "\n"


def _findings_block(
    findings: Sequence[Finding], kind: str, alert: str, lead: str, budget: int
) -> tuple[str, int]:
    if not findings:
        return "", 0
    head = f"> [!{alert}]\n> **{_count(len(findings), kind)}** {lead}\n>\n"
    items = [_finding(f) for f in findings]
    more = _json_note(f"{kind}(s)", prefix=">\n> ")
    block, omitted = _fit(head, items, len(items), more, budget)
    if not block:  # not even one: the count alone, if that fits
        block = head.removesuffix(">\n") + more(len(findings)).removeprefix(">\n")
        block = block if len(block) <= budget else ""
        omitted = len(findings)
    return block, omitted


def _findings(plan: Plan, budget: _Budget) -> str:
    room = budget.share(0.5)
    violations, v_omitted = _findings_block(
        plan.violations, "violation", "CAUTION", "must be fixed before this rolls out:", room
    )
    if v_omitted:
        budget.trimmed.append(f"{v_omitted:,} violation(s)")
    notes = [w for w in plan.warnings if w.code in RANGE_NOTES]
    said = "".join(f"> [!NOTE]\n> {text(_clip(w.message, 500))}\n" for w in notes)
    return "\n".join(b for b in (violations, said) if b)


# --------------------------------------------------------------------------- layers


def _layers(plan: Plan, budget: _Budget) -> str:
    rows = [
        f"| {code(layer.path)} | {text(layer.scope.value)} | {layer.clusters:,} | "
        f"{_names(layer.files, MAX_FILES)} |\n"
        for layer in plan.changed_layers
    ]
    inventory = [a for a in plan.affected if any(r.kind == "inventory" for r in a.reasons)]
    if inventory:
        rows.append(
            f"| inventory | inventory | {len(inventory):,} | {code(_clip(plan.inventory.source))} "
            "(entries added or retargeted) |\n"
        )
    if not rows:
        return ""
    head = "#### Changed layers\n\n| layer | scope | clusters | files |\n|---|---|--:|---|\n"
    section, omitted = _fit(head, rows, len(rows), _json_note("changed layers"), budget.share(0.5))
    if omitted:
        budget.trimmed.append(f"{omitted:,} changed layer(s)")
    return section


# --------------------------------------------------------------------------- steps


@dataclass(frozen=True)
class _Run:
    """Consecutive steps of one wave and group with the same gates (large plans)."""

    steps: tuple[StepSummary, ...]

    @property
    def first(self) -> StepSummary:
        return self.steps[0]

    def clusters(self) -> int:
        return sum(len(s.clusters) for s in self.steps)

    def values(self, attr: str) -> list[str]:
        found: set[str] = set()
        for step in self.steps:
            found.update(getattr(step, attr))
        return sorted(found)


def _runs(steps: Sequence[StepSummary]) -> list[_Run]:
    runs: list[list[StepSummary]] = []
    for step in steps:
        last = runs[-1][-1] if runs else None
        if last is not None and (last.wave, last.group, gates(last)) == (
            step.wave,
            step.group,
            gates(step),
        ):
            runs[-1].append(step)
        else:
            runs.append([step])
    return [_Run(tuple(r)) for r in runs]


def _step_rows(plan: Plan, *, names: bool) -> list[str]:
    total = plan.summary.clusters_total
    rows = []
    done = 0
    for index, step in enumerate(plan.waves, start=1):
        done += len(step.clusters)
        clusters = f"{len(step.clusters):,}"
        if names:
            clusters += ": " + _names(step.clusters, MAX_NAMES)
        rows.append(
            f"| {index} | **{text(step.name)}** | {clusters} | "
            f"{percent(len(step.clusters), total)} | {percent(done, total)} | "
            f"{_names(step.regions, MAX_VALUES, text) or '-'} | "
            f"{_names(step.compliance, MAX_VALUES, text) or '-'} | {gates(step)} |\n"
        )
    return rows


def _run_rows(plan: Plan, *, ranges: bool) -> list[str]:
    total = plan.summary.clusters_total
    rows = []
    done = 0
    for run in _runs(plan.waves):
        n = run.clusters()
        done += n
        names = [s.name for s in run.steps]
        if ranges and len(names) > 2:
            listed = f"{text(names[0])} … {text(names[-1])}"
        else:
            listed = ", ".join(text(s) for s in names)
        sizes = sorted({len(s.clusters) for s in run.steps})
        size = f"{sizes[0]:,}" if len(sizes) == 1 else f"{sizes[0]:,}–{sizes[-1]:,}"
        rows.append(
            f"| **{_count(len(names), 'step')}**: {listed} | {n:,} ({size} per step) | "
            f"{percent(n, total)} | {percent(done, total)} | "
            f"{_names(run.values('regions'), MAX_VALUES, text) or '-'} | "
            f"{_names(run.values('compliance'), MAX_VALUES, text) or '-'} | {gates(run.first)} |\n"
        )
    return rows


_STEP_HEAD = (
    "| # | step | clusters | % of fleet | cumulative | regions | compliance | gates |\n"
    "|--:|---|---|--:|--:|---|---|---|\n"
)
_RUN_HEAD = (
    "| steps | clusters | % of fleet | cumulative | regions | compliance | gates |\n"
    "|---|---|--:|--:|---|---|---|\n"
)


def _steps(plan: Plan, budget: _Budget) -> str:
    """The steps table, in the most detailed form that fits; every step named if at all possible."""
    if not plan.waves and not plan.skipped_waves:
        return ""
    tail = ""
    if plan.skipped_waves:
        tail = (
            "\nSkipped (no affected cluster): "
            + ", ".join(text(w) for w in plan.skipped_waves)
            + "\n"
        )
    title = "#### Steps\n\n"
    if not plan.waves:
        return title + tail.lstrip("\n")
    room = budget.share(0.6)
    candidates = [
        (_STEP_HEAD, _step_rows(plan, names=True)),
        (_STEP_HEAD, _step_rows(plan, names=False)),
        (_RUN_HEAD, _run_rows(plan, ranges=False)),
    ]
    for head, rows in candidates:
        section = title + head + "".join(rows) + tail
        if len(section) <= room:
            return section
    rows = _run_rows(plan, ranges=True)
    section, omitted = _fit(
        title + _RUN_HEAD, rows, len(rows), _json_note("step rows"), room - len(tail)
    )
    budget.trimmed.append("step names shown as ranges")
    if omitted:
        budget.trimmed.append(f"{omitted:,} step row(s)")
    return section + tail


# --------------------------------------------------------------------------- diagram


def _diagram(plan: Plan, budget: _Budget) -> str:
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
                f"{len(steps):,} steps · {_count(n, 'cluster')}",
            )
            nodes.append((f"s{len(nodes)}", f"[{label}]", steps[0], steps[-1]))
        else:
            for step in steps:
                label = _mermaid(step.name, _count(len(step.clusters), "cluster"))
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


def _lists(plan: Plan, budget: _Budget) -> str:
    entries = [
        ("Removed from the inventory", plan.removed),
        ("Traced but rendered unchanged", plan.traced_unchanged),
        ("Changed files no cluster reaches", plan.unowned),
        ("Ignored changed files", plan.ignored),
    ]
    lines = [
        f"- **{title}** ({len(names):,}): {_names(list(names), MAX_LISTED)}\n"
        for title, names in entries
        if names
    ]
    section, omitted = _fit(
        "", lines, len(lines), _json_note("list(s)", prefix=""), budget.share(0.5)
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
    return text(_clip(reason.summary, 100))


def _cluster_block(entry: AffectedCluster) -> str:
    where = f"step {text(entry.step)}" if entry.step else "in no step"
    why = _short(entry.reasons[0]) if entry.reasons else "-"
    if len(entry.reasons) > 1:
        why += f" (+{len(entry.reasons) - 1} more)"
    out = [
        f"<details><summary>{code(entry.cluster)} · {where} · {why}</summary>",
        "",
        f"**Why this wave:** {text(_clip(entry.placement, 500))}",
        "",
    ]
    for reason in entry.reasons:
        out.append(f"**Why this cluster:** {text(_clip(reason.summary, 500))}")
        if reason.chain:
            out += ["<pre>", pre("\n".join(chain_lines(reason, indent=""))), "</pre>"]
        out.append("")
    out += ["</details>", ""]
    return "\n".join(out)


def _details(plan: Plan, budget: _Budget) -> str:
    if not plan.affected:
        return ""
    entries = _ordered_affected(plan)
    head = "#### Why these clusters\n\n"
    blocks = (_cluster_block(e) for e in entries)
    more = _json_note(
        "cluster(s)",
        where=f"in `{JSON_COMMAND}` (every chain; `wave-planner explain CLUSTER` prints one)",
    )
    section, omitted = _fit(head, blocks, len(entries), more, budget.left)
    if omitted:
        budget.trimmed.append(f"explanations of {omitted:,} cluster(s)")
    return section


# --------------------------------------------------------------- rendered changes (precise)


def _rendered_changes(plan: Plan, budget: _Budget) -> str:
    """Precise mode's diff groups (`planner.report.diff_comment`), up to 60% of what is left."""
    if not plan.diff_groups:
        return ""
    from planner.report import diff_comment

    section, omitted = diff_comment.render_groups(plan, budget.share(0.6))
    if omitted:
        budget.trimmed.append(f"{omitted:,} group(s) of rendered changes")
    return section
