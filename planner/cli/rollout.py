"""The `rollout` commands: a release manager steps a committed rollout through its waves.

Thin shells over `planner.api.rollout_*`: parse the options, build the command's
`Rollout<Verb>Request`, call, print. Refusals (a gate not open, drift, a conflicting rollout)
raise `planner.errors.Refusal`, which the app maps to exit 1 with the reason and the time
left on stderr; nothing is written then. `status` exits 1 when the repository no longer
matches the rollout.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planner.cli import options as opt
from planner.cli.complete import rollout_names
from planner.cli.output import Output, OutputFormat, choose, dump, json_to_yaml
from planner.errors import ExitCode
from planner.target import Target

if TYPE_CHECKING:
    from planner.api import gating
    from planner.release.view import RolloutView


rollout_app = typer.Typer(
    name="rollout",
    help="Step a committed rollout through its waves (state under waves/<name>/).",
    no_args_is_help=True,
    rich_markup_mode=None,
)


StatusFormat = opt.PlanFormat


NameArgument = Annotated[
    str,
    typer.Argument(
        help="The rollout's name (its folder under waves/).",
        metavar="NAME",
        autocompletion=rollout_names,
    ),
]
RepoOpt = opt.Repo
By = Annotated[str | None, typer.Option("--by", help="Who does this (default: git's user.name).")]
Commit = Annotated[
    bool, typer.Option("--commit", help="Commit the rollout's folder with a descriptive message.")
]
Sign = Annotated[
    bool,
    typer.Option(
        "--sign",
        help="With --commit: sign the commit with your configured key (user.signingkey, "
        "gpg or ssh-keygen from PATH; never a program the repository names).",
    ),
]


def _report(view: RolloutView, output: OutputFormat | None = None) -> None:
    from planner.report import rollout as report

    fmt = choose(output, None, allowed=("table", "json", "yaml"))
    if fmt != "table":
        rendered = report.render_json(view)
        typer.echo(json_to_yaml(rendered) if fmt == "yaml" else rendered, nl=False)
        return

    state = view.state
    event = state.history[-1]
    what = event.action + (f" {event.step}" if event.step else "")
    for note in view.notes:
        typer.echo(note, err=True)
    typer.echo(f"rollout {state.name}: {what}" + (f": {event.detail}" if event.detail else ""))
    for path in view.written:
        typer.echo(f"  wrote {path}")
    if view.commit:
        typer.echo(f"  committed {view.commit[:12]}")
    typer.echo(report.gate_line(view.gate))


AllowUnpinned = Annotated[
    bool,
    typer.Option(
        "--allow-unpinned",
        help="Write even when a nested object that applies this repository cannot be pinned.",
    ),
]


def start(
    *,
    name: Annotated[str, typer.Option("--name", help="Name of the rollout (a DNS label).")],
    base: Annotated[
        str | None,
        typer.Option(
            "--base",
            help="Base revision, what runs now (default: merge base with the default branch).",
        ),
    ] = None,
    head: Annotated[str, typer.Option("--head", help="Head revision (what to roll out).")] = "HEAD",
    inventory: Annotated[
        Path | None,
        typer.Option(
            "--inventory",
            help="The inventory, inside the repository (default: clusters.yaml at its root).",
            envvar=opt.ENV_INVENTORY,
            show_envvar=True,
        ),
    ] = None,
    repo: RepoOpt = Path("."),
    policy: opt.Policy = None,
    target: Annotated[Target, typer.Option("--target", help="Manifests to write.")] = Target.argocd,
    by: By = None,
    commit: Commit = False,
    output: Output = None,
    sign: Sign = False,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Take over files already in waves/NAME/TARGET/ that wave-planner did not write.",
        ),
    ] = False,
    two_dot: opt.TwoDot = False,
    allow_unpinned: AllowUnpinned = False,
) -> None:
    """Plan a change and write its rollout under waves/NAME/ with nothing released.

    Refused (exit 1) when another active rollout touches the same clusters.

    Example:

      wave-planner rollout start --repo fleet --base origin/main --head HEAD \\
        --inventory fleet/clusters.yaml --policy fleet/rollout.yaml --name cve-2026-1234
    """
    from planner import api

    view = api.rollout_start(
        api.RolloutStartRequest(
            repo=repo,
            name=name,
            base=base,
            head=head,
            inventory=inventory,
            policy=policy,
            target=target,
            by=by,
            commit=commit,
            sign=sign,
            adopt=adopt,
            two_dot=two_dot,
            allow_unpinned=allow_unpinned,
        )
    )
    _report(view, output)


def status(
    name: NameArgument,
    repo: RepoOpt = Path("."),
    fmt: Annotated[
        StatusFormat, typer.Option("--format", "-f", help="Output format.")
    ] = StatusFormat.table,
    output: Output = None,
) -> None:
    """Show each step, its clusters, state and release time, and what holds the next step.

    Exit code 1 when the repository no longer matches the rollout (drift).

    Example:

      wave-planner rollout status cve-2026-1234 --repo fleet --format markdown
    """
    from planner import api
    from planner.report import rollout as report

    view = api.rollout_status(api.RolloutStatusRequest(repo=repo, name=name))
    chosen = choose(output, fmt.value, allowed=("table", "json", "yaml", "markdown", "wide"))
    render = {
        "table": report.render_table,
        "wide": report.render_table,
        "json": report.render_json,
        "yaml": lambda v: json_to_yaml(report.render_json(v)),
        "markdown": report.render_markdown,
    }[chosen]
    typer.echo(render(view), nl=False)
    for note in view.notes:
        typer.echo(f"note: {note}", err=True)
    if view.drift:
        for change in view.drift:
            typer.echo(f"drift: {change}", err=True)
        raise typer.Exit(ExitCode.VIOLATIONS)


def advance(
    name: NameArgument,
    *,
    repo: RepoOpt = Path("."),
    approve: Annotated[
        bool, typer.Option("--approve", help="Approve a step that needs it (with --by).")
    ] = False,
    by: By = None,
    force: Annotated[
        bool,
        typer.Option(
            "--force",
            help="Release before the bake is over or past a failing gate (with --reason).",
        ),
    ] = False,
    reason: Annotated[str | None, typer.Option("--reason", help="Why --force (recorded).")] = None,
    commit: Commit = False,
    output: Output = None,
    if_ready: Annotated[
        bool,
        typer.Option(
            "--if-ready",
            help="Release only when ready; otherwise exit 0 saying what the rollout waits for.",
        ),
    ] = False,
    approval: Annotated[
        str | None,
        typer.Option(
            "--approval",
            metavar="REV",
            help="A signed commit or tag approving the step's wave (waves with signers).",
        ),
    ] = None,
    allow_unpinned: AllowUnpinned = False,
) -> None:
    """Release the next step: its clusters' elements move to the head revision.

    The gates of the step released before it are evaluated first. Refused (exit 1, with the
    reason and the time left) while the previous step bakes, when one of its gates fails
    (the gate, the clusters and the evidence are named and recorded), when the step needs
    approval and none is given, while paused, or when the repository no longer matches the
    rollout. With --if-ready a bake, a missing approval or a failing gate is not an error:
    the command exits 0 and says what the rollout waits for (for a scheduled job).

    Example:

      wave-planner rollout advance cve-2026-1234 --repo fleet --approve --by alice --commit
    """
    from planner import api

    progress = api.rollout_advance(
        api.RolloutAdvanceRequest(
            repo=repo, name=name, approve=approve, by=by, force=force, reason=reason,
            commit=commit, approval=approval, if_ready=if_ready, allow_unpinned=allow_unpinned,
        )
    )  # fmt: skip
    if progress.verdict is not None and progress.released:
        typer.echo(f"gates of {progress.verdict.step}: {progress.verdict.summary()}")
    if progress.released or not if_ready:
        _report(progress.view, output)
    else:
        _report_wait(progress)


def _report_wait(progress: gating.AdvanceResult) -> None:
    """What --if-ready waits for (and what it recorded, e.g. a failed gate)."""
    view = progress.view
    for path in view.written:
        typer.echo(f"  wrote {path}")
    if view.commit:
        typer.echo(f"  committed {view.commit[:12]}")
    typer.echo(progress.line())


def watch(
    name: NameArgument,
    *,
    repo: RepoOpt = Path("."),
    by: By = None,
    commit: Commit = False,
    poll: Annotated[
        int, typer.Option("--poll", min=1, help="Longest sleep between two checks (seconds).")
    ] = 60,
    allow_unpinned: AllowUnpinned = False,
) -> None:
    """Advance the rollout whenever it is ready, in the foreground, with a live status line.

    Stops at an approval, a failing gate, a pause, a halt or the end (exit 0).

    Example:

      wave-planner rollout watch cve-2026-1234 --repo fleet --commit
    """
    from planner import api

    request = api.RolloutWatchRequest(
        repo=repo, name=name, echo=typer.echo, by=by, commit=commit, poll=poll,
        allow_unpinned=allow_unpinned,
    )  # fmt: skip
    api.rollout_watch(request)


def pause(
    name: NameArgument,
    repo: RepoOpt = Path("."),
    by: By = None,
    commit: Commit = False,
    sign: Sign = False,
    output: Output = None,
) -> None:
    """Stop `advance` until `resume`.

    Example:

      wave-planner rollout pause cve-2026-1234 --repo fleet
    """
    from planner import api

    request = api.RolloutPauseRequest(repo=repo, name=name, by=by, commit=commit, sign=sign)
    _report(api.rollout_pause(request), output)


def resume(
    name: NameArgument,
    repo: RepoOpt = Path("."),
    by: By = None,
    commit: Commit = False,
    sign: Sign = False,
    output: Output = None,
) -> None:
    """Let `advance` release steps again.

    Example:

      wave-planner rollout resume cve-2026-1234 --repo fleet
    """
    from planner import api

    request = api.RolloutResumeRequest(repo=repo, name=name, by=by, commit=commit, sign=sign)
    _report(api.rollout_resume(request), output)


def rollback(
    name: NameArgument,
    repo: RepoOpt = Path("."),
    step: Annotated[str | None, typer.Option("--step", help="Roll back only this step.")] = None,
    by: By = None,
    commit: Commit = False,
    output: Output = None,
    sign: Sign = False,
    allow_unpinned: AllowUnpinned = False,
) -> None:
    """Pin every released cluster (or one step's) back to the base revision.

    Example:

      wave-planner rollout rollback cve-2026-1234 --repo fleet --step canary
    """
    from planner import api

    request = api.RolloutRollbackRequest(
        repo=repo, name=name, step=step, by=by, commit=commit, sign=sign,
        allow_unpinned=allow_unpinned,
    )  # fmt: skip
    _report(api.rollout_rollback(request), output)


def list_rollouts(repo: RepoOpt = Path("."), output: Output = None) -> None:
    """List the rollouts under waves/ with their state and what holds each.

    Example:

      wave-planner rollout list --repo fleet
    """
    from planner import api
    from planner.report import rollout as report

    views = api.rollout_list(api.RolloutListRequest(repo=repo))
    fmt = choose(output, None, allowed=("table", "json", "yaml", "wide"))
    if fmt in ("json", "yaml"):
        typer.echo(dump([report.as_dict(v) for v in views], fmt), nl=False)
        return
    typer.echo(report.render_list(views), nl=False)


def register(app: typer.Typer) -> None:
    """Add the `rollout` command group to the app."""
    for command in (start, status, advance, watch, pause, resume, rollback):
        rollout_app.command(name=command.__name__)(command)
    rollout_app.command(name="list")(list_rollouts)
    app.add_typer(rollout_app)
