"""The planning commands: plan, explain, graph, preview, validate, schema, policy init."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planner.cli import options as opt
from planner.cli.complete import cluster_names
from planner.cli.options import PlanFormat, ReportFormat
from planner.cli.output import Output, choose, json_to_yaml
from planner.errors import ExitCode

if TYPE_CHECKING:
    from planner.adapters.progress import Progress
    from planner.plan import Plan


def register(app: typer.Typer) -> None:
    app.command(name="plan")(plan)
    app.command(name="explain")(explain)
    app.command(name="graph")(graph)
    app.command(name="preview")(preview)
    app.command(name="validate")(validate)
    app.command(name="schema")(schema)
    policy_app = typer.Typer(help="Work with rollout policies.", no_args_is_help=True)
    policy_app.command(name="init")(policy_init)
    app.add_typer(policy_app, name="policy")


@opt.change_options
def plan(
    change: opt.Change,
    fmt: opt.PlanReport = ReportFormat.table,
    output: Output = None,
    json_out: Annotated[
        Path | None,
        typer.Option(
            "--json-out",
            metavar="FILE",
            help="Also write the full plan as JSON to FILE, from the same run (CI: the "
            "comment and its JSON from one plan).",
        ),
    ] = None,
    emergency: opt.Emergency = False,
    reason: opt.Reason = None,
    precise: opt.Precise = False,
    two_dot: opt.TwoDot = False,
    strict: opt.Strict = False,
    demo: Annotated[
        bool, typer.Option("--demo", help="Plan a sample change on the bundled example fleet.")
    ] = False,
) -> None:
    """Compute which clusters a change affects, why, and in which waves they roll out.

    Exit code 0: plan ok; 1: the plan has violations (it is still printed in full);
    2: bad input (or --precise without kubectl/kustomize on PATH).

    Example:

      wave-planner plan --repo fleet-config --base origin/main --head HEAD --format markdown
    """
    from planner import api

    why = opt.emergency_reason(emergency, reason)
    bar = _progress_bar(precise, fmt)
    try:
        if demo:
            result = api.demo(
                api.DemoRequest(
                    policy=change.policy,
                    emergency=why,
                    precise=precise,
                    strict=strict,
                    progress=bar,
                )
            )
        else:
            request = opt.sources(
                api.PlanRequest,
                change,
                why,
                two_dot=two_dot,
                precise=precise,
                strict=strict,
                progress=bar,
            )
            result = api.plan(request)
    finally:
        if bar is not None:
            bar.close()
    chosen = choose(
        output, fmt.value, allowed=("table", "json", "yaml", "markdown", "wide", "html")
    )
    if json_out is not None:
        from planner.adapters import files

        files.atomic_write(json_out, (result.model_dump_json(indent=2) + "\n").encode())
    # colour codes are only there when terminal.colour() said so: keep them (click would
    # strip them from a pipe, which is what FORCE_COLOR asks for)
    typer.echo(_render_plan(result, chosen), nl=False, color=True)
    if result.violations:
        raise typer.Exit(ExitCode.VIOLATIONS)


def _progress_bar(precise: bool, fmt: ReportFormat) -> Progress | None:
    """Precise mode draws its progress bar on a terminal (never for JSON)."""
    if not precise:
        return None
    import sys

    from planner.adapters.progress import for_terminal

    return for_terminal(sys.stderr, enabled=fmt != ReportFormat.json)


def _render_plan(result: Plan, fmt: str) -> str:
    if fmt in ("json", "yaml"):
        text = result.model_dump_json(indent=2) + "\n"
        return text if fmt == "json" else json_to_yaml(text)
    if fmt == ReportFormat.html:
        from planner.report import html

        return html.render_plan(result)
    if fmt == ReportFormat.markdown:
        from planner.report import markdown

        return markdown.render_plan(result)
    from planner.cli import terminal
    from planner.report import table

    return table.render_plan(
        result, width=terminal.width(), colour=terminal.colour(), wide=fmt == "wide"
    )


@opt.change_options
def explain(
    cluster: Annotated[
        str,
        typer.Argument(
            help="The cluster to explain.", metavar="CLUSTER", autocompletion=cluster_names
        ),
    ],
    change: opt.Change,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (same as -o json).")] = False,
    output: Output = None,
    two_dot: opt.TwoDot = False,
) -> None:
    """Print why CLUSTER is affected (the reference chain to the change), or why not.

    Example:

      wave-planner explain prod-eu-west-1 --repo fleet-config --base origin/main --head HEAD
    """
    from planner import api
    from planner.report import explanation as explanation_report

    explanation = api.explain(
        opt.sources(
            api.ExplainRequest,
            change,
            two_dot=two_dot,
            cluster=cluster,
        )
    )
    fmt = choose(output, "json" if as_json else None, allowed=("table", "json", "yaml"))
    rendered = explanation_report.render_explanation(explanation, as_json=fmt != "table")
    typer.echo(json_to_yaml(rendered) if fmt == "yaml" else rendered, nl=False)


class GraphFormat(StrEnum):
    mermaid = "mermaid"
    dot = "dot"
    json = "json"


def graph(
    repo: opt.Repo = Path("."),
    inventory: opt.Inventory = None,
    policy: opt.Policy = None,
    rev: opt.Rev = None,
    cluster: Annotated[
        str | None,
        typer.Option(
            "--cluster", help="Only what this cluster reads.", autocompletion=cluster_names
        ),
    ] = None,
    fmt: Annotated[
        GraphFormat, typer.Option("--format", "-f", help="Output format.")
    ] = GraphFormat.mermaid,
    output: Output = None,
) -> None:
    """Print the hierarchy graph (clusters -> layers -> files) as Mermaid, DOT or JSON.

    Example:

      wave-planner graph --repo fleet-config --cluster prod-eu-west-1 --format mermaid
    """
    from planner import api
    from planner.report import graph as graph_report

    opened = api.graph(api.RevisionRequest(repo=repo, inventory=inventory, policy=policy, rev=rev))
    chosen = choose(output, fmt.value, allowed=("json", "yaml", "mermaid", "dot"))
    rendered = graph_report.render(
        opened.graph, opened.inventory, cluster, "json" if chosen == "yaml" else chosen
    )
    typer.echo(json_to_yaml(rendered) if chosen == "yaml" else rendered, nl=False)


class PreviewFormat(StrEnum):
    table = "table"
    json = "json"


def preview(
    inventory: Annotated[Path, typer.Option("--inventory", help="The inventory.")] = Path(
        "clusters.yaml"
    ),
    selector: Annotated[
        str | None,
        typer.Option("--selector", "-l", help="kubectl-style label selector."),
    ] = None,
    policy: opt.Policy = None,
    fmt: Annotated[
        PreviewFormat, typer.Option("--format", "-f", help="Output format.")
    ] = PreviewFormat.table,
    output: Output = None,
) -> None:
    """List the clusters a label selector matches, with the wave each belongs to.

    Example:

      wave-planner preview --inventory clusters.yaml \\
        --selector 'environment=production,region in (eu-west)'
    """
    from planner import api
    from planner.report import table

    found = api.preview(api.PreviewRequest(inventory=inventory, selector=selector, policy=policy))
    chosen = choose(output, fmt.value, allowed=("table", "json", "yaml", "wide"))
    rendered = table.render_preview(found.selector, found.rows, as_json=chosen in ("json", "yaml"))
    typer.echo(json_to_yaml(rendered) if chosen == "yaml" else rendered, nl=False)


def validate(
    repo: opt.Repo = Path("."),
    inventory: opt.Inventory = None,
    policy: opt.Policy = None,
    rev: opt.Rev = None,
    strict: Annotated[bool, typer.Option("--strict", help="Treat warnings as violations.")] = False,
    fmt: opt.Format = PlanFormat.table,
    output: Output = None,
) -> None:
    """Check the whole fleet: identity, inventory, hierarchy and rollout guardrails.

    Exit code 0: only warnings; 1: violations; 2: bad input.

    Example:

      wave-planner validate --repo fleet-config --inventory clusters.yaml --strict
    """
    from planner import api
    from planner.report import findings as findings_report

    result = api.validate(
        api.ValidateRequest(repo=repo, inventory=inventory, policy=policy, rev=rev, strict=strict)
    )
    chosen = choose(
        output, fmt.value, allowed=("table", "json", "yaml", "markdown", "wide", "html")
    )
    from planner.cli import terminal

    rendered = findings_report.render_validation(
        result,
        {"yaml": "json"}.get(chosen, chosen),
        width=terminal.width(),
        colour=terminal.colour(),
    )
    typer.echo(json_to_yaml(rendered) if chosen == "yaml" else rendered, nl=False, color=True)
    if result.violations:
        raise typer.Exit(ExitCode.VIOLATIONS)


class SchemaName(StrEnum):
    inventory = "inventory"
    policy = "policy"
    plan = "plan"


def schema(
    name: Annotated[SchemaName, typer.Argument(help="Which schema.", metavar="NAME")],
    output: Output = None,
) -> None:
    """Print the JSON Schema of the inventory, the policy or the plan JSON.

    Example:

      wave-planner schema policy > rollout.schema.json
    """
    from planner import schemas

    fmt = choose(output, None, allowed=("json", "yaml"))
    rendered = schemas.render(name.value)
    typer.echo(json_to_yaml(rendered) if fmt == "yaml" else rendered, nl=False)


def policy_init(
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="Write here instead of stdout.")
    ] = None,
    inventory: opt.Inventory = None,
) -> None:
    """Write the built-in default policy out for editing.

    Example:

      wave-planner policy init --inventory clusters.yaml --out rollout.yaml
    """
    from planner import api

    drafted = api.policy_init(api.PolicyInitRequest(inventory=inventory, out=out))
    if drafted.written is None:
        typer.echo(drafted.text, nl=False)
        return
    typer.echo(f"wrote {drafted.written}")
