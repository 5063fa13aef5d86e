"""The `emit` command: the plan, pinned to revisions, as Argo CD or Flux manifests in a folder.

A thin shell over `planner.api.emit`: parse arguments, call, print. Exit codes: 0 written
(or `--check` found no drift); 1 the plan has violations or a cluster matches no wave
(nothing written), or `--check` found drift; 2 bad input (including an `--out` that is a
file or cannot be written, which is left as it was).
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from planner.cli import options as opt
from planner.cli.output import Output, choose, dump
from planner.errors import ExitCode
from planner.target import Target

if TYPE_CHECKING:
    from planner.api import EmitResult


class ArgoStrategy(StrEnum):
    list = "list"
    rolling_sync = "rolling-sync"


def register(app: typer.Typer) -> None:
    """Add the emit commands to the app."""
    app.command(name="emit")(emit)


@opt.change_options
def emit(
    *,
    target: Annotated[Target, typer.Option("--target", help="What to write.")],
    out: Annotated[
        str, typer.Option("--out", help="Folder to write (files it did not generate are kept).")
    ],
    change: opt.Change,
    emergency: opt.Emergency = False,
    reason: opt.Reason = None,
    released: Annotated[
        str | None,
        typer.Option(
            "--released",
            metavar="K|all",
            help="Steps released so far (default 0): their clusters run head, later steps "
            "stay on base. With --check: the recorded value unless given.",
        ),
    ] = None,
    argocd_strategy: Annotated[
        ArgoStrategy | None,
        typer.Option(
            "--argocd-strategy",
            help="list: one ApplicationSet per wave; rolling-sync: one ApplicationSet using "
            "Argo CD progressive sync.",
        ),
    ] = None,
    check: Annotated[
        bool,
        typer.Option("--check", help="Write nothing; exit 1 if --out differs (for CI)."),
    ] = False,
    output: Output = None,
    adopt: Annotated[
        bool,
        typer.Option(
            "--adopt",
            help="Take over files in --out that wave-planner did not write (else exit 1).",
        ),
    ] = False,
    two_dot: opt.TwoDot = False,
    allow_unpinned: Annotated[
        bool,
        typer.Option(
            "--allow-unpinned",
            help="Write even when a nested object that applies this repository cannot be "
            "pinned (it is listed as a warning).",
        ),
    ] = False,
) -> None:
    """Write the rollout as Argo CD ApplicationSets or Flux manifests, pinned to revisions.

    Every cluster is pinned: affected clusters of the first K steps (--released K) and
    every unaffected cluster run head; affected clusters of later steps stay on base.

    Exit code 0: written (or no drift); 1: violations (nothing written) or drift;
    2: bad input.

    Examples:

      wave-planner emit --target argocd --out waves/argocd --base origin/main --released 1

      wave-planner emit --target flux --out waves/flux --base origin/main --check
    """
    from planner import api
    from planner.emit.pinned import parse_released
    from planner.errors import UserError

    if not out.strip():
        raise UserError.single(
            "--out is empty", key="--out", fix="pass a folder, e.g. waves/argocd"
        )
    count = parse_released(released) if released is not None else None
    why = opt.emergency_reason(emergency, reason)
    request = opt.sources(
        api.EmitRequest,
        change,
        why,
        two_dot=two_dot,
        target=target,
        out=Path(out),
        released=count,
        strategy=argocd_strategy.value if argocd_strategy is not None else None,
        check=check,
        adopt=adopt,
        allow_unpinned=allow_unpinned,
    )
    result = api.emit(request)
    fmt = choose(output, None, allowed=("table", "json", "yaml"))
    if fmt == "table":
        typer.echo(render_result(result), nl=False)
    else:
        typer.echo(dump(result_data(result), fmt), nl=False)
    if result.refused or result.drift:
        raise typer.Exit(ExitCode.VIOLATIONS)


def result_data(result: EmitResult) -> dict[str, object]:
    """What `emit -o json` prints: the verdict, the plan id and the file changes."""
    diff = result.diff
    return {
        "target": result.target.value,
        "out": str(result.out),
        "plan": result.plan.id,
        "refused": bool(result.refused),
        "violations": [v.model_dump(mode="json") for v in result.plan.violations],
        "unplaced": list(result.unplaced),
        "checked": bool(result.checked),
        "drift": bool(result.drift),
        "added": sorted(diff.added) if diff else [],
        "changed": sorted(diff.changed) if diff else [],
        "removed": sorted(diff.removed) if diff else [],
        "files": sorted(result.files),
    }


def render_result(result: EmitResult) -> str:
    """What `emit` prints: refusal reasons, or a summary and the drift or changes."""
    plan = result.plan
    lines: list[str] = []
    if result.stale:
        lines.append(f"emit {result.target.value} --check: {result.out} is stale:")
        lines.extend(f"  {reason}" for reason in result.stale)
        lines.append("run emit without --check to regenerate it")
        return "\n".join(lines) + "\n"
    if result.refused:
        lines.append(f"emit {result.target.value}: refused, nothing was written to {result.out}")
        lines.extend(f"violation [{v.code}] {v.message}" for v in plan.violations)
        reported = {v.cluster for v in plan.violations if v.code == "no-wave"}
        lines.extend(
            f"violation [no-wave] {name} matches no wave: it would be left out of the manifests"
            for name in result.unplaced
            if name not in reported
        )
        lines.extend(f"violation [unpinned] {leak.message()}" for leak in result.leaks)
        if result.leaks:
            lines.append("(pass --allow-unpinned to write anyway, knowingly)")
        return "\n".join(lines) + "\n"
    pinned = result.pinned
    assert pinned is not None
    assert result.diff is not None
    elements = pinned.elements()
    on_base = sum(1 for e in elements if e.revision == pinned.base and e.step)
    lines.append(
        f"emit {result.target.value}: plan {plan.id}, {len(elements)} clusters in "
        f"{sum(1 for w in pinned.waves.values() if w)} waves, released "
        f"{len(pinned.released)} of {len(pinned.steps)} steps"
    )
    lines.append(
        f"  head {pinned.head[:12]}: {len(elements) - on_base} clusters; "
        f"base {pinned.base[:12]}: {on_base} clusters"
    )
    if pinned.emergency is not None:
        lines.append(f"  emergency: {pinned.emergency}")
    lines.extend(
        f"warning [unpinned, allowed by --allow-unpinned] {leak.message()}" for leak in result.leaks
    )
    lines.extend(
        f"warning [kustomization-needed] {folder}/ has no kustomization file: Argo CD applies "
        "source.kustomize.patches only to a path with one (add a kustomization.yaml listing "
        "its manifests)"
        for folder in result.plain_folders
    )
    diff = result.diff
    if result.checked:
        if diff.clean:
            lines.append(f"{result.out}: up to date ({len(result.files)} generated files)")
            if result.recorded is not None:
                lines.append(
                    f"  (from the recorded inputs: base {result.recorded.base[:12]}, "
                    f"head {result.recorded.head[:12]}, released {result.recorded.released})"
                )
        else:
            lines.append(f"{result.out}: out of date; run emit without --check to update:")
            lines.extend(f"  {line}" for line in diff.lines())
    else:
        lines.append(
            f"wrote {result.out}: {len(diff.added)} added, {len(diff.changed)} changed, "
            f"{len(diff.removed)} removed ({len(result.files)} generated files)"
        )
    return "\n".join(lines) + "\n"
