"""Planning commands as library calls: plan (precise or not, or of the bundled demo), explain,
one revision's graph, selector preview and fleet validation.

Each takes one frozen request model and returns a model; the pure pipeline is
`planner.plan.plan_change` (and `explain_change`), fed by `open_workspace`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict

from planner import guardrails
from planner.adapters import files
from planner.adapters.gitrepo import GitRepo
from planner.api.inputs import (
    Sources,
    load_inventories,
    load_policy_file,
    open_workspace,
    repo_root,
    repo_urls,
)
from planner.api.request import REQUEST
from planner.errors import UserError
from planner.findings import Validation
from planner.hierarchy.build import build_hierarchy
from planner.hierarchy.graph import Hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.placement import PreviewRow, place, preview_rows
from planner.plan import Explanation, Plan, explain_change, plan_change
from planner.policy import RolloutPolicy
from planner.selector import LabelSelector, parse_selector
from planner.snapshot import Snapshot
from planner.wiring.percluster import cluster_infos

__all__ = [
    "DemoRequest",
    "ExplainRequest",
    "PlanRequest",
    "Preview",
    "PreviewRequest",
    "Revision",
    "RevisionRequest",
    "ValidateRequest",
    "demo",
    "explain",
    "graph",
    "plan",
    "preview",
    "validate",
]

if TYPE_CHECKING:
    from planner.adapters.progress import Progress
    from planner.precise import Renderer
else:  # protocols: checked by mypy, not at run time (and precise mode imported on first use)
    Progress = Renderer = Any

# -------------------------------------------------------------------------------- plan


class PlanRequest(Sources):
    """`plan`: the change's sources; `precise` renders every traced cluster at base and head
    (with `renderer`, else kustomize on PATH, telling `progress` how the renders advance) and
    keeps only those whose rendered state changed; `prune=False` renders them all."""

    precise: bool = False
    renderer: Renderer | None = None
    prune: bool = True
    progress: Progress | None = None


def plan(request: PlanRequest) -> Plan:
    """The rollout plan of a change (`request.precise`: confirmed by rendering).

    Precise mode without a renderer on PATH raises a UserError (exit 2) before any work.
    """
    renderer = request.renderer
    workspace = open_workspace(request)
    try:
        if request.precise and renderer is None:
            from planner.adapters.renderer import KustomizeRenderer

            renderer = KustomizeRenderer(workspace.inputs.policy.render, progress=request.progress)
        chosen = renderer if request.precise else None
        return plan_change(workspace.inputs, chosen, prune=request.prune)
    finally:
        workspace.close()


class DemoRequest(BaseModel):
    """`plan --demo`: the sample change on the bundled example fleet, with these options."""

    model_config = REQUEST

    policy: Path | None = None
    emergency: str | None = None
    precise: bool = False
    strict: bool = False
    progress: Progress | None = None


def demo(request: DemoRequest) -> Plan:
    """The plan of the sample change, in a throwaway repository built for it."""
    from planner.adapters.demo import demo_repo

    with demo_repo() as built:
        return plan(
            PlanRequest(
                repo=built.path,
                base=built.base,
                head=built.head,
                policy=request.policy,
                emergency=request.emergency,
                precise=request.precise,
                strict=request.strict,
                progress=request.progress,
            )
        )


class ExplainRequest(Sources):
    """`explain`: the change's sources and the cluster to explain."""

    cluster: str


def explain(request: ExplainRequest) -> Explanation:
    """Why one cluster is (or is not) affected by a change."""
    workspace = open_workspace(request)
    try:
        return explain_change(workspace.inputs, request.cluster)
    finally:
        workspace.close()


# --------------------------------------------------------------------- one revision


class RevisionRequest(BaseModel):
    """One revision of the fleet: the commit `rev`, or the files on disk when it is None."""

    model_config = REQUEST

    repo: Path = Path(".")
    inventory: Path | None = None
    policy: Path | None = None
    rev: str | None = None


@dataclass
class Revision:
    """One revision of the fleet, opened: its files, inventory, policy and hierarchy."""

    snapshot: Snapshot
    inventory: Inventory
    policy: RolloutPolicy
    graph: Hierarchy


def graph(request: RevisionRequest) -> Revision:
    """The hierarchy graph of one revision (with what it was built from)."""
    return _open_revision(request)


def _open_revision(request: RevisionRequest) -> Revision:
    repo, rev = request.repo, request.rev
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
        inv, _, _ = load_inventories(request.inventory, root, snap, snap)
        pol, _ = load_policy_file(request.policy, inv, root, snap)
        origin = git_repo.origin_url() if git_repo is not None else None
        urls = repo_urls(pol, origin)
        built = build_hierarchy(
            snap,
            (c.gitops_path for c in inv.clusters),
            pol.hierarchy_config(),
            repo_urls=urls,
            clusters=cluster_infos(inv.clusters),
        )
        return Revision(snap, inv, pol, built)
    finally:
        if git_repo is not None:
            git_repo.close()


class ValidateRequest(RevisionRequest):
    """`validate`: one revision; `strict` makes warnings violations."""

    strict: bool = False


def validate(request: ValidateRequest) -> Validation:
    """Every guardrail over the whole fleet (the files on disk, or the commit `rev`)."""
    opened = _open_revision(request)
    context = guardrails.Context(
        head=opened.graph,
        snapshot=opened.snapshot,
        inventory=opened.inventory,
        policy=opened.policy,
        placements=place(opened.inventory, opened.policy),
    )
    findings = guardrails.validate_findings(context, strict=request.strict)
    return Validation(findings, len(opened.inventory.clusters))


# ------------------------------------------------------------------------- preview


class PreviewRequest(BaseModel):
    """`preview`: an inventory file, a selector (None: every cluster) and a policy."""

    model_config = REQUEST

    inventory: Path
    selector: str | None = None
    policy: Path | None = None


class Preview(BaseModel):
    """The parsed selector and the clusters it matches, with their waves."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    selector: LabelSelector | None
    rows: list[PreviewRow]


def preview(request: PreviewRequest) -> Preview:
    """Which clusters a selector matches, and the wave each belongs to."""
    path = request.inventory
    inv = parse_inventory(files.read_yaml_inputs(path, "--inventory"), source=str(path))
    pol, _ = load_policy_file(request.policy, inv)
    parsed = parse_selector(request.selector) if request.selector is not None else None
    return Preview(selector=parsed, rows=preview_rows(inv, pol, parsed))
