"""The library: what each command does, without printing.

Each function takes plain values (paths, revisions, options), wires the adapters (git, files)
to the pure core, and returns models. The typer commands in `planner.cli` are thin shells over
these functions; other tools can call them directly:

    from planner import api
    plan = api.plan(api.Sources(repo=Path("fleet"), base="origin/main", head="HEAD"))
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING

from planner import guardrails, kustomize
from planner import policy as policy_mod
from planner import rollout as rollout_mod
from planner.adapters import files, rolloutrepo
from planner.adapters.files import TreeDiff
from planner.adapters.gitrepo import GitRepo
from planner.changes import ChangeSet, parse_changed_files
from planner.emit import RELEASED_ANNOTATION, Rollout, parse_released, prepare, unplaced
from planner.emit import argocd as argocd_emit
from planner.emit import flux as flux_emit
from planner.emit.argocd import Strategy as ArgoStrategy
from planner.errors import Refusal, UserError
from planner.guardrails import Validation
from planner.hierarchy import Hierarchy, build_hierarchy
from planner.inventory import Inventory, parse_inventory
from planner.plan import Analysis, Explanation, Plan, PlanInputs, analyse, assemble
from planner.policy import RolloutPolicy
from planner.repourl import is_network_url, resolve_repo_url
from planner.selector import LabelSelector, parse_selector
from planner.snapshot import Snapshot
from planner.waves import PreviewRow, place, preview_rows

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
    urls = repo_urls(policy, origin)
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


def repo_urls(policy: RolloutPolicy, origin: str | None) -> list[str]:
    """The URLs that mean "this repository" to Flux and Argo CD objects.

    The origin remote counts only when it is a network URL: a clone of a local mirror says
    nothing about the URL the fleet's objects use, and then sources are matched by path.
    """
    urls = [u for u in (policy.argocd.repoURL, policy.flux.url) if u]
    if origin and is_network_url(origin):
        urls.append(origin)
    return urls


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
                fix="pass --inventory clusters.yaml (a clusters list, Argo CD cluster Secrets "
                "or CAPI Clusters)",
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
        urls = repo_urls(pol, origin)
        graph = build_hierarchy(
            snap, (c.gitops_path for c in inv.clusters), pol.hierarchy_config(), repo_urls=urls
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


# -------------------------------------------------------------------------------- emit


class EmitTarget(StrEnum):
    """What `emit` writes."""

    argocd = "argocd"
    flux = "flux"


@dataclass(frozen=True)
class EmitResult:
    """What `emit` rendered, and how `--out` differed from it (written, or only checked).

    `refused` when the plan has violations or a cluster matches no wave: nothing was
    rendered, checked or written.
    """

    plan: Plan
    target: EmitTarget
    out: Path
    checked: bool
    unplaced: tuple[str, ...] = ()
    rollout: Rollout | None = None
    files: Mapping[str, bytes] = field(default_factory=dict)
    diff: TreeDiff | None = None

    @property
    def refused(self) -> bool:
        return bool(self.plan.violations or self.unplaced)

    @property
    def drift(self) -> bool:
        return self.checked and self.diff is not None and not self.diff.clean


def emit(
    sources: Sources,
    target: EmitTarget | str,
    out: Path,
    *,
    released: int | str = 0,
    strategy: ArgoStrategy | str = "list",
    check: bool = False,
) -> EmitResult:
    """Render the plan pinned by `--released K|all` as manifests; write them to `out`
    atomically (or, with `check`, only compare). Never touches files it did not generate."""
    target = EmitTarget(target)
    strategy = ArgoStrategy(strategy)
    if isinstance(released, str):
        released = parse_released(released)
    if out.exists() and not out.is_dir():
        raise UserError.single(f"{out} is a file, not a folder", key="--out", fix="pass a folder")
    workspace, result = analysis(sources)
    try:
        planned = assemble(workspace.inputs, result)
        missing = unplaced(planned)
        if planned.violations or missing:
            return EmitResult(planned, target, out, check, unplaced=missing)
        policy = workspace.inputs.policy
        if target is EmitTarget.argocd:
            url = resolve_repo_url(
                policy.argocd.repoURL, workspace.repo_url, setting="argocd.repoURL"
            )
        else:
            url = resolve_repo_url(policy.flux.url, workspace.repo_url, setting="flux.url")
        rollout = prepare(planned, workspace.inputs.inventory, policy.labels, released, url)
        if target is EmitTarget.argocd:
            rendered = argocd_emit.render(rollout, policy.argocd, strategy)
        else:
            rendered = flux_emit.render(rollout, policy.flux)
        diff = files.check_tree(out, rendered) if check else files.write_tree(out, rendered)
        return EmitResult(planned, target, out, check, (), rollout, rendered, diff)
    finally:
        workspace.close()


# ================================================================ rollouts (release manager)
#
# A rollout steps a plan through its waves, one reviewed commit per step; its state and
# manifests live in the fleet repository under `waves/<name>/` (planner.adapters.rolloutrepo).
# The rules are pure (planner.rollout); these functions read the working tree, recompute the
# plan to detect drift, apply one transition, and write the result atomically. A refused
# command raises `Refusal` before anything is written.


@dataclass(frozen=True)
class RolloutView:
    """A rollout as a command reports it: the state, the gate now, drift, what was written."""

    state: rollout_mod.Rollout
    gate: rollout_mod.Gate
    now: datetime
    drift: tuple[str, ...] = ()
    written: tuple[str, ...] = ()
    commit: str | None = None


@dataclass(frozen=True)
class _Current:
    """The plan recomputed from the repository as it is now, with what rendering needs."""

    plan: Plan
    inventory: Inventory
    policy: RolloutPolicy
    repo_url: str | None


def rollout_manifests(current: _Current, target: str, released: frozenset[str]) -> dict[str, bytes]:
    """THE SEAM to the emitters: the files of the plan pinned with `released` step names.

    Same renderers as `emit` (planner.emit.argocd / flux, list strategy), but a rollout's
    released steps are a set (a step in the middle may be rolled back), not `--released K`.
    Returns {path relative to waves/<name>/<target>/: bytes}.
    """
    from planner.emit import pin_elements
    from planner.plan import UNPLACED

    policy = current.policy
    if target == "argocd":
        url = resolve_repo_url(policy.argocd.repoURL, current.repo_url, setting="argocd.repoURL")
    else:
        url = resolve_repo_url(policy.flux.url, current.repo_url, setting="flux.url")
    prepared = prepare(current.plan, current.inventory, policy.labels, 0, url)
    waves = pin_elements(current.plan, current.inventory, released)
    waves.pop(UNPLACED, None)
    fields = {f.name: getattr(prepared, f.name) for f in dataclasses.fields(prepared)}
    fields.update(released=tuple(s for s in prepared.steps if s in released), waves=waves)
    pinned = _StepPinned(**fields)
    if target == "argocd":
        return argocd_emit.render(pinned, policy.argocd, ArgoStrategy.list)
    return flux_emit.render(pinned, policy.flux)


@dataclass(frozen=True)
class _StepPinned(Rollout):
    """Emitter input for a rollout: without the `released: K/N` annotation.

    A rollout records its progress in `rollout.yaml`; a count on every object would rewrite
    every manifest on every step, while an `advance` must change only its step's elements.
    """

    def annotations(self) -> dict[str, str]:
        out = super().annotations()
        out.pop(RELEASED_ANNOTATION, None)
        return out


def rollout_start(
    repo: Path,
    *,
    name: str,
    base: str,
    head: str,
    inventory: Path,
    policy: Path | None = None,
    target: rollout_mod.Target = "argocd",
    by: str | None = None,
    commit: bool = False,
) -> RolloutView:
    """Plan the change, refuse conflicts, write `waves/<name>/` with nothing released."""
    root = repo.resolve()
    try:
        rollout_mod.check_rollout_name(name)
    except ValueError as exc:
        raise UserError.single(str(exc), key="--name") from None
    if rolloutrepo.exists(root, name):
        raise UserError.single(
            f"a rollout named {name!r} already exists in {rolloutrepo.WAVES_DIR}/",
            key="--name",
            fix="pick another name, or drive it with `rollout status/advance`",
        )
    inventory_rel = _inside(inventory, root)
    if inventory_rel is None:
        raise UserError.single(
            f"{inventory} is outside the repository {root}",
            key="--inventory",
            fix="commit the inventory into the fleet repository: later commands re-read it "
            "from there to detect drift",
        )
    policy_rel, policy_copy = _rollout_policy_input(root, name, policy)
    inputs = rollout_mod.Inputs(inventory=inventory_rel, policy=policy_rel)
    current = _rollout_current(root, base, head, inputs, policy_path=policy)
    plan = current.plan
    if plan.violations:
        problems = "; ".join(v.message for v in plan.violations)
        raise Refusal(f"the plan has violations, fix them before a rollout: {problems}")
    missing = unplaced(plan)
    if missing:
        raise Refusal(
            f"cluster(s) {', '.join(missing)} match no wave of the policy: a rollout would "
            "drop them from the manifests (add a wave that selects them)"
        )
    if not plan.waves:
        raise Refusal(f"nothing to roll out: the change {plan.base[:12]}..{plan.head[:12]} "
                      "affects no cluster")  # fmt: skip
    found = rollout_mod.conflicts(plan.affected_names(), rolloutrepo.read_all(root))
    if found:
        raise Refusal(
            "two rollouts would pin the same clusters: "
            + "; ".join(c.message() for c in found)
            + " (finish or roll back that rollout first)"
        )
    now = rolloutrepo.now()
    state = rollout_mod.start(
        plan, name=name, target=target, inputs=inputs, now=now, actor=_actor(root, by)
    )
    written: list[str] = []
    if policy_copy is not None:
        files.atomic_write(root / policy_copy[0], policy_copy[1])
        written.append(policy_copy[0])
    written += rolloutrepo.write(root, state, rollout_manifests(current, target, frozenset()))
    return _finish(root, state, now, written, commit)


def rollout_status(repo: Path, name: str) -> RolloutView:
    """The state, the gate holding the next step, and any drift from the repository."""
    root = repo.resolve()
    state = rolloutrepo.read(root, name)
    now = rolloutrepo.now()
    _, changes = _rollout_drift(root, state)
    return RolloutView(state, rollout_mod.next_gate(state, now), now, tuple(changes))


def rollout_list(repo: Path) -> list[RolloutView]:
    """Every rollout under `waves/` (drift is left to `status`)."""
    root = repo.resolve()
    now = rolloutrepo.now()
    return [
        RolloutView(state, rollout_mod.next_gate(state, now), now)
        for state in rolloutrepo.read_all(root)
    ]


def rollout_advance(
    repo: Path,
    name: str,
    *,
    approve: bool = False,
    by: str | None = None,
    force: bool = False,
    reason: str | None = None,
    commit: bool = False,
) -> RolloutView:
    """Release the next step (its clusters' elements move to head), or refuse."""
    if approve and not by:
        raise UserError.single(
            "--approve needs the approver's name", key="--approve", fix="add --by WHO"
        )
    if force and not (reason and reason.strip()):
        raise UserError.single("--force needs a reason", key="--force", fix='add --reason "..."')
    root = repo.resolve()
    state = rolloutrepo.read(root, name)
    current, changes = _rollout_drift(root, state)
    if changes:
        raise Refusal(_drift_message(state, changes))
    now = rolloutrepo.now()
    outcome = rollout_mod.advance(
        state, now, _actor(root, by), approve=approve, by=by, force=force, reason=reason
    )
    new = _accepted(outcome)
    manifests = rollout_manifests(current, new.target, rollout_mod.released(new))
    return _finish(root, new, now, rolloutrepo.write(root, new, manifests), commit)


def rollout_rollback(
    repo: Path, name: str, *, step: str | None = None, by: str | None = None, commit: bool = False
) -> RolloutView:
    """Pin every released cluster (or one step's) back to the base revision.

    A whole rollback is allowed even when the repository drifted (it is the way out); one
    step's rollback needs the plan to still match.
    """
    root = repo.resolve()
    state = rolloutrepo.read(root, name)
    current, changes = _rollout_drift(root, state)
    if changes and step is not None:
        raise Refusal(_drift_message(state, changes) + " (a whole `rollback` still works)")
    now = rolloutrepo.now()
    new = _accepted(rollout_mod.rollback(state, now, _actor(root, by), step=step))
    steps_now = {s.name for s in current.plan.waves}
    released = rollout_mod.released(new) & steps_now
    manifests = rollout_manifests(current, new.target, frozenset(released))
    return _finish(root, new, now, rolloutrepo.write(root, new, manifests), commit)


def rollout_pause(
    repo: Path, name: str, *, by: str | None = None, commit: bool = False
) -> RolloutView:
    """Stop `advance` until `resume` (the manifests do not change)."""
    return _rollout_toggle(repo, name, rollout_mod.pause, by, commit)


def rollout_resume(
    repo: Path, name: str, *, by: str | None = None, commit: bool = False
) -> RolloutView:
    """Let `advance` release steps again."""
    return _rollout_toggle(repo, name, rollout_mod.resume, by, commit)


def _rollout_toggle(
    repo: Path,
    name: str,
    transition: Callable[[rollout_mod.Rollout, datetime, str], rollout_mod.Outcome],
    by: str | None,
    commit: bool,
) -> RolloutView:
    root = repo.resolve()
    state = rolloutrepo.read(root, name)
    now = rolloutrepo.now()
    new = _accepted(transition(state, now, _actor(root, by)))
    return _finish(root, new, now, rolloutrepo.write(root, new), commit)


def _accepted(outcome: rollout_mod.Outcome) -> rollout_mod.Rollout:
    if isinstance(outcome, rollout_mod.Refused):
        raise Refusal(outcome.message())
    return outcome


def _finish(
    root: Path, state: rollout_mod.Rollout, now: datetime, written: list[str], commit: bool
) -> RolloutView:
    sha = (
        rolloutrepo.commit(root, state.name, rollout_mod.commit_message(state)) if commit else None
    )
    gate = rollout_mod.next_gate(state, now)
    return RolloutView(state, gate, now, written=tuple(written), commit=sha)


def _actor(root: Path, by: str | None) -> str:
    """`--by`, else git's user.name, else `unknown`."""
    if by and by.strip():
        return by.strip()
    try:
        repo = GitRepo(root)
    except UserError:
        return "unknown"
    try:
        return repo.user_name() or "unknown"
    finally:
        repo.close()


def _rollout_policy_input(
    root: Path, name: str, policy: Path | None
) -> tuple[str | None, tuple[str, bytes] | None]:
    """The policy's path in the repository; a policy from outside is copied into the rollout."""
    if policy is None:
        return None, None
    rel = _inside(policy, root)
    if rel is not None:
        return rel, None
    copy = rolloutrepo.relative(root, rolloutrepo.folder(root, name) / "policy.yaml")
    return copy, (copy, files.read_input(policy, "--policy"))


def _rollout_current(
    root: Path,
    base: str,
    head: str,
    inputs: rollout_mod.Inputs,
    *,
    policy_path: Path | None = None,
) -> _Current:
    """The plan of base..head with the inventory and policy of the working tree."""
    workspace = open_workspace(
        Sources(repo=root, base=base, head=head, inventory=root / inputs.inventory)
    )
    try:
        inventory = _worktree_inventory(root, inputs.inventory)
        if policy_path is None and inputs.policy is not None:
            policy_path = root / inputs.policy
        policy, source = load_policy_file(policy_path, inventory)
        if inputs.policy is not None:
            source = inputs.policy
        urls = repo_urls(policy, workspace.repo_url)
        plan_inputs = dataclasses.replace(
            workspace.inputs,
            inventory=inventory,
            policy=policy,
            policy_source=source,
            repo_urls=urls,
        )
        planned = assemble(plan_inputs, analyse(plan_inputs))
        return _Current(planned, inventory, policy, workspace.repo_url)
    finally:
        workspace.close()


def _worktree_inventory(root: Path, rel: str) -> Inventory:
    path = root / rel
    if path.is_dir():
        found = sorted(p for p in path.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file())
        data = {p.relative_to(root).as_posix(): files.read_input(p, "--inventory") for p in found}
    else:
        data = {rel: files.read_input(path, "--inventory")}
    return parse_inventory(data, source=rel)


def _rollout_drift(root: Path, state: rollout_mod.Rollout) -> tuple[_Current, list[str]]:
    current = _rollout_current(root, state.base, state.head, state.inputs)
    observed = rollout_mod.observe(current.plan, current.inventory.names())
    return current, rollout_mod.drift(state, observed)


def _drift_message(state: rollout_mod.Rollout, changes: list[str]) -> str:
    return (
        f"rollout {state.name} no longer matches the repository: "
        + "; ".join(changes)
        + f". Refusing to guess: restore {state.inputs.inventory}"
        + (f" / {state.inputs.policy}" if state.inputs.policy else "")
        + ", or roll back and start a new rollout"
    )


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
