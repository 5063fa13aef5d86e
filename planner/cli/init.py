"""The `init` command: draft clusters.yaml and rollout.yaml from the repository."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from planner.cli import options as opt
from planner.cli.output import Output


def register(app: typer.Typer) -> None:
    app.command(name="init")(init)


def init(
    repo: opt.Repo = Path("."),
    dry_run: Annotated[
        bool,
        typer.Option("--dry-run", help="Print the drafts instead of writing them."),
    ] = False,
    output: Output = None,
) -> None:
    """Draft clusters.yaml and rollout.yaml from what the repository says.

    Finds clusters from Flux bootstrap folders (flux-system/gotk-sync.yaml), Argo CD
    cluster Secrets, per-cluster folders under clusters/ (or envs/, environments/,
    overlays/ when nothing else names a cluster) and Rancher Fleet targets that name a
    cluster; labels come from the cluster-identity ConfigMap and the environment and region
    layers each cluster inherits. Prints what it inferred and why; values guessed from names
    are marked `# guess` in the files.

    Never overwrites: when clusters.yaml or rollout.yaml exists, nothing is written (exit 1).
    Exit code 0: written (or printed with --dry-run); 1: a file exists; 2: no cluster found.

    Examples:

      wave-planner init --repo fleet-config

      wave-planner init --repo fleet-config --dry-run -o yaml
    """
    from planner import api
    from planner import draft as draft_mod
    from planner.cli import output as out_mod

    fmt = out_mod.choose(output, None, allowed=("table", "json", "yaml"))
    result = api.init(api.InitRequest(repo=repo, write=not dry_run))
    data = {
        **result.discovery.model_dump(mode="json"),
        "written": result.written,
    }
    if fmt in ("json", "yaml"):
        if dry_run:
            data["drafts"] = result.drafts
        typer.echo(out_mod.dump(data, fmt), nl=False)
        return
    if dry_run:
        for name, text in result.drafts.items():
            typer.echo(f"--- {name} (not written: --dry-run)")
            typer.echo(text, nl=False)
    typer.echo(draft_mod.render_report(result.discovery, result.written), nl=False)
    if result.written:
        typer.echo("next: wave-planner validate" + ("" if repo == Path(".") else f" --repo {repo}"))
