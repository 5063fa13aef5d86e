"""The library: what each command does, without printing.

Each function takes plain values (paths, revisions, options), wires the adapters (git, files)
to the pure core, and returns models. The typer commands in `planner.cli` are thin shells over
these functions; other tools can call them directly:

    from planner import api
    plan = api.plan(api.Sources(repo=Path("fleet"), base="origin/main", head="HEAD"))
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from planner import guardrails, kustomize
from planner import policy as policy_mod
from planner.adapters import files
from planner.adapters.gitrepo import GitRepo
from planner.changes import ChangeSet, parse_changed_files
from planner.errors import UserError
from planner.hierarchy import Hierarchy, build_hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.plan import Analysis, Plan, PlanInputs, analyse, assemble
from planner.policy import RolloutPolicy
from planner.selector import LabelSelector, parse_selector
from planner.snapshot import Snapshot
from planner.waves import Placement, place

if TYPE_CHECKING:
    from planner.precise import Renderer

DEFAULT_INVENTORY = "clusters.yaml"


@dataclass(frozen=True)
class Sources:
    """Where a plan's inputs come from (the options shared by plan, explain, graph, emit)."""

    repo: Path = Path(".")
    base: str | None = None
    head: str = "HEAD"
    inventory: Path | None = None
    policy: Path | None = None
    worktree: bool = False
    changed_files: str | None = None  # the text of a changed-files list
    changed_files_source: str = "--changed-files"
    emergency: str | None = None
    precise: bool = False  # render traced clusters at both sides, keep those that changed


@dataclass
class Workspace:
    """Opened inputs: the repository (when there is one) and the plan inputs."""

    inputs: PlanInputs
    repo: GitRepo | None
    repo_url: str | None
    extra: dict[str, str] = field(default_factory=dict)

    def close(self) -> None:
        if self.repo is not None:
            self.repo.close()


# ------------------------------------------------------------------------------ inputs


def open_workspace(sources: Sources) -> Workspace:
    """Resolve revisions, read the change, the inventory at both sides and the policy."""
    repo = _open_repo(sources)
    if repo is None:
        head_snap: Snapshot = files.DirectorySnapshot(sources.repo)
        base_snap: Snapshot = head_snap
        changes = _changed_files(sources)
    else:
        head_sha = None if sources.worktree else repo.resolve(sources.head, "--head")
        base_sha = (
            repo.resolve(sources.base, "--base")
            if sources.base
            else repo.default_base(head_sha or repo.head_sha())
        )
        if sources.changed_files is not None:
            changes = _changed_files(sources)
        elif sources.worktree:
            changes = repo.worktree_diff(base_sha)
        else:
            assert head_sha is not None
            changes = repo.diff(base_sha, head_sha)
        head_snap = repo.worktree_snapshot() if sources.worktree else repo.snapshot(head_sha or "")
        _read_ahead(head_snap)
        base_snap = repo.snapshot(base_sha)
    root = _root(sources, repo)
    inventory, base_inventory, inventory_paths = load_inventories(
        sources.inventory, root, head_snap, base_snap
    )
    policy, policy_source = load_policy_file(sources.policy, inventory)
    origin = repo.origin_url() if repo is not None else None
    urls = [u for u in (policy.argocd.repoURL, policy.flux.url, origin) if u]
    inputs = PlanInputs(
        head=head_snap,
        base=base_snap,
        changes=changes,
        inventory=inventory,
        base_inventory=base_inventory,
        policy=policy,
        policy_source=policy_source,
        repo_urls=urls,
        inventory_paths=inventory_paths,
        emergency=sources.emergency,
    )
    return Workspace(inputs=inputs, repo=repo, repo_url=origin)


def _read_ahead(snap: Snapshot) -> None:
    """Start reading the kustomization files (the graph needs them all) while the inventory
    is parsed."""
    start = getattr(snap, "read_ahead", None)
    if start is not None:
        names = kustomize.KUSTOMIZATION_FILES
        start(p for p in snap.files() if p.rsplit("/", 1)[-1] in names)


def _open_repo(sources: Sources) -> GitRepo | None:
    if sources.changed_files is not None and not (sources.repo / ".git").exists():
        if not sources.repo.is_dir():
            raise UserError.single(f"{sources.repo} is not a folder", key="--repo")
        try:
            return GitRepo(sources.repo)
        except UserError:
            return None
    return GitRepo(sources.repo)


def _root(sources: Sources, repo: GitRepo | None) -> Path:
    if repo is not None and repo.work_tree is not None:
        return (repo.work_tree / repo.prefix).resolve() if repo.prefix else repo.work_tree.resolve()
    return sources.repo.resolve()


def _changed_files(sources: Sources) -> ChangeSet:
    assert sources.changed_files is not None
    return parse_changed_files(sources.changed_files, source=sources.changed_files_source)


def load_inventories(
    path: Path | None, root: Path, head: Snapshot, base: Snapshot
) -> tuple[Inventory, Inventory, list[str]]:
    """The inventory at head and at base (read from git at base when it lives in the repo)."""
    if path is None:
        candidate = root / DEFAULT_INVENTORY
        if not candidate.exists() and head.read(DEFAULT_INVENTORY) is None:
            raise UserError.single(
                f"no inventory given and no {DEFAULT_INVENTORY} in the repository",
                key="--inventory",
                fix="pass --inventory clusters.yaml (a clusters list, Argo CD cluster Secrets or CAPI Clusters)",
            )
        path = candidate
    rel = _inside(path, root)
    if rel is None:
        data = files.read_yaml_inputs(path, "--inventory")
        inventory = parse_inventory(data, source=str(path))
        return inventory, inventory, []
    head_files = _snapshot_yaml(head, rel) or files.read_yaml_inputs(path, "--inventory")
    inventory = parse_inventory(head_files, source=rel)
    base_files = _snapshot_yaml(base, rel)
    if base is head or base_files == head_files:
        return inventory, inventory, sorted(head_files)
    if not base_files:
        empty = Inventory(clusters=(), source=f"{rel} (absent at base)")
        return inventory, empty, sorted(head_files)
    try:
        base_inventory = parse_inventory(base_files, source=f"{rel}@{base.revision[:12]}")
    except UserError as exc:
        raise UserError(
            [p.__class__(f"at base: {p.message}", p.file, p.key, p.fix) for p in exc.problems]
        ) from None
    return inventory, base_inventory, sorted(set(head_files) | set(base_files))


def _inside(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() if rel.parts else None


def _snapshot_yaml(snap: Snapshot, rel: str) -> dict[str, bytes]:
    data = snap.read(rel)
    if data is not None:
        return {rel: data}
    if snap.is_dir(rel):
        wanted = sorted(
            p for p in snap.files() if p.startswith(rel + "/") and p.endswith((".yaml", ".yml"))
        )
        return snap.read_many(wanted)
    return {}


def load_policy_file(
    path: Path | None, inventory: Inventory | None = None
) -> tuple[RolloutPolicy, str]:
    if path is None:
        return policy_mod.default_policy(inventory), "built-in default"
    data = files.read_input(path, "--policy")
    return policy_mod.load_policy(data, source=str(path)), str(path)


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


@dataclass(frozen=True)
class Explanation:
    cluster: str
    plan: Plan
    head: Hierarchy
    root: str | None
    placement: Placement


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
            root=result.head.root_of(found.gitops_path),
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
        root = _root(Sources(repo=repo), git_repo)
        inv, _, _ = load_inventories(inventory, root, snap, snap)
        pol, _ = load_policy_file(policy, inv)
        origin = git_repo.origin_url() if git_repo is not None else None
        urls = [u for u in (pol.argocd.repoURL, pol.flux.url, origin) if u]
        graph = build_hierarchy(
            snap, (c.gitops_path for c in inv.clusters), pol.hierarchy_config(), repo_urls=urls
        )
        return Revision(snap, inv, pol, graph)
    finally:
        if git_repo is not None:
            git_repo.close()


@dataclass(frozen=True)
class PreviewRow:
    cluster: str
    labels: Mapping[str, str]
    wave: str | None
    rule: str


def preview(
    inventory: Path, selector: str | None, policy: Path | None = None
) -> tuple[LabelSelector | None, list[PreviewRow]]:
    """Which clusters a selector matches, and the wave each belongs to."""
    inv = parse_inventory(files.read_yaml_inputs(inventory, "--inventory"), source=str(inventory))
    pol, _ = load_policy_file(policy, inv)
    parsed = parse_selector(selector) if selector is not None else None
    placements = place(inv, pol)
    rows = [
        PreviewRow(c.name, c.labels, placements[c.name].wave, placements[c.name].rule)
        for c in inv.clusters
        if parsed is None or parsed.matches(c.labels)
    ]
    return parsed, rows


@dataclass(frozen=True)
class Validation:
    findings: list[guardrails.Finding]
    clusters: int

    @property
    def violations(self) -> list[guardrails.Finding]:
        return [f for f in self.findings if f.severity == "violation"]

    @property
    def warnings(self) -> list[guardrails.Finding]:
        return [f for f in self.findings if f.severity == "warning"]


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


def precise_plan(sources: Sources, renderer: Renderer | None = None) -> Plan:
    """The plan, with every traced cluster rendered at base and head (`plan --precise`).

    Clusters whose rendered state did not change move to `traced_unchanged` (and
    `unaffected`); the others carry a `render` summary. Without a renderer on PATH this
    raises a UserError (exit 2) before any work.
    """
    from planner import precise
    from planner.adapters.renderer import KustomizeRenderer

    workspace = open_workspace(sources)
    try:
        inputs = workspace.inputs
        chosen = renderer or KustomizeRenderer(inputs.policy.render)
        traced = analyse(inputs)
        result = precise.refine(inputs, traced, chosen)
        refined = precise.pruned(traced, result, inputs.inventory.names())
        return assemble(
            inputs,
            refined,
            result.traced_unchanged,
            renders=result.renders,
            findings=result.findings,
        )
    finally:
        workspace.close()
