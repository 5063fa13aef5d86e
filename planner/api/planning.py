"""Planning commands as library calls: plan, precise plan, explain, one revision's graph,
selector preview and fleet validation."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from planner import guardrails
from planner.adapters import files
from planner.adapters.gitrepo import GitRepo
from planner.api.inputs import (
    Sources,
    Workspace,
    load_inventories,
    load_policy_file,
    open_workspace,
    repo_root,
    repo_urls,
)
from planner.clusterwiring import cluster_infos
from planner.errors import UserError
from planner.guardrails import Validation
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.plan import Analysis, Explanation, Plan, analyse, assemble
from planner.policy import RolloutPolicy
from planner.selector import LabelSelector, parse_selector
from planner.snapshot import Snapshot
from planner.waves import PreviewRow, place, preview_rows

if TYPE_CHECKING:
    from planner.adapters.progress import Progress
    from planner.precise import Renderer

# -------------------------------------------------------------------------------- plan


def analysis(sources: Sources) -> tuple[Workspace, Analysis]:
    workspace = open_workspace(sources)
    return workspace, analyse(workspace.inputs)


def plan(sources: Sources) -> Plan:
    """The rollout plan of a change (`sources.precise`: confirmed by rendering)."""
    if sources.precise:
        return precise_plan(sources)
    workspace, result = analysis(sources)
    try:
        return assemble(workspace.inputs, result)
    finally:
        workspace.close()


def explain(sources: Sources, cluster: str) -> Explanation:
    """Why one cluster is (or is not) affected by a change."""
    workspace, result = analysis(sources)
    try:
        names = workspace.inputs.inventory.names()
        if cluster not in names:
            raise UserError.single(
                f"no cluster named {cluster!r} in the inventory",
                key="CLUSTER",
                fix=_did_you_mean(cluster, names),
            )
        planned = assemble(workspace.inputs, result)
        found = workspace.inputs.inventory.by_name()[cluster]
        return Explanation(
            cluster=cluster,
            plan=planned,
            head=result.head,
            root=result.head.root_of(found.gitops_path, found.name),
            placement=result.placements[cluster],
        )
    finally:
        workspace.close()


def _did_you_mean(name: str, names: list[str]) -> str:
    import difflib

    close = difflib.get_close_matches(name, names, n=3)
    return (
        f"did you mean {', '.join(close)}?"
        if close
        else "run `wave-planner preview` to list clusters"
    )


@dataclass
class Revision:
    """One revision of the fleet, opened: its files, inventory, policy and hierarchy."""

    snapshot: Snapshot
    inventory: Inventory
    policy: RolloutPolicy
    graph: Hierarchy


def open_revision(
    repo: Path, inventory: Path | None, policy: Path | None = None, rev: str | None = None
) -> Revision:
    """A commit (`rev`), or the files on disk when `rev` is None (git or not)."""
    git_repo: GitRepo | None = None
    try:
        if rev is not None or (repo / ".git").exists():
            git_repo = GitRepo(repo)
            snap: Snapshot = (
                git_repo.snapshot(git_repo.resolve(rev, "--rev"))
                if rev
                else git_repo.worktree_snapshot()
            )
        elif repo.is_dir():
            snap = files.DirectorySnapshot(repo)
        else:
            raise UserError.single(f"{repo} is not a folder", key="--repo")
        root = repo_root(Sources(repo=repo), git_repo)
        inv, _, _ = load_inventories(inventory, root, snap, snap)
        pol, _ = load_policy_file(policy, inv, root)
        origin = git_repo.origin_url() if git_repo is not None else None
        urls = repo_urls(pol, origin)
        graph = build_hierarchy(
            snap,
            (c.gitops_path for c in inv.clusters),
            pol.hierarchy_config(),
            repo_urls=urls,
            clusters=cluster_infos(inv.clusters),
        )
        return Revision(snap, inv, pol, graph)
    finally:
        if git_repo is not None:
            git_repo.close()


def preview(
    inventory: Path, selector: str | None, policy: Path | None = None
) -> tuple[LabelSelector | None, list[PreviewRow]]:
    """Which clusters a selector matches, and the wave each belongs to."""
    inv = parse_inventory(files.read_yaml_inputs(inventory, "--inventory"), source=str(inventory))
    pol, _ = load_policy_file(policy, inv)
    parsed = parse_selector(selector) if selector is not None else None
    return parsed, preview_rows(inv, pol, parsed)


def validate(
    repo: Path,
    inventory: Path | None,
    policy: Path | None = None,
    *,
    rev: str | None = None,
    strict: bool = False,
) -> Validation:
    """Every guardrail over the whole fleet (the files on disk, or the commit `rev`)."""
    opened = open_revision(repo, inventory, policy, rev)
    context = guardrails.Context(
        head=opened.graph,
        snapshot=opened.snapshot,
        inventory=opened.inventory,
        policy=opened.policy,
        placements=place(opened.inventory, opened.policy),
    )
    findings = guardrails.validate_findings(context, strict=strict)
    return Validation(findings, len(opened.inventory.clusters))


# ------------------------------------------------------------------------ precise mode


def precise_plan(
    sources: Sources,
    renderer: Renderer | None = None,
    *,
    prune: bool = True,
    progress: Progress | None = None,
) -> Plan:
    """The plan, with every traced cluster rendered at base and head (`plan --precise`).

    Clusters whose rendered state did not change move to `traced_unchanged` (and
    `unaffected`); the others carry a `render` summary and the id of their `diff_groups`
    entry (clusters grouped by rendered change). A changed layer that renders the same at
    both revisions spares the clusters above it (`prune=False` renders them all). Without a
    renderer on PATH this raises a UserError (exit 2) before any work. `progress` is told
    how the renders advance (the CLI's progress bar).
    """
    from planner import diff_groups, layer_pruning, precise
    from planner.adapters.renderer import KustomizeRenderer

    workspace = open_workspace(sources)
    try:
        inputs = workspace.inputs
        chosen = renderer or KustomizeRenderer(inputs.policy.render, progress=progress)
        traced = analyse(inputs)
        pruning = layer_pruning.prune(inputs, traced, chosen) if prune else layer_pruning.Pruning()
        result = precise.refine(inputs, traced, chosen, spared=pruning.spared)
        refined = precise.pruned(traced, result, inputs.inventory.names())
        groups = diff_groups.group_diffs(
            result.diffs, inputs.inventory.by_name(), inputs.policy.labels
        )
        return assemble(
            inputs,
            refined,
            result.traced_unchanged,
            renders=result.renders,
            findings=result.findings,
            diff_groups=groups,
        )
    finally:
        workspace.close()
