"""Opening a plan's inputs: the repository, the revisions, the change, the inventory at
both sides and the policy (`Sources` -> `Workspace`).

`Sources` is the part every request about a change shares (`PlanRequest`, `ExplainRequest`,
`EmitRequest` extend it).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from planner.api.request import REQUEST
from planner.errors import UserError

if TYPE_CHECKING:  # the planner is imported by the functions that read the inputs: a module
    # that only declares a request (`Sources`) or names the default inventory starts without it
    from planner.adapters.gitrepo import GitRepo
    from planner.changes import ChangeSet
    from planner.inventory import Inventory
    from planner.plan import PlanInputs, RangeInfo
    from planner.policy import RolloutPolicy
    from planner.snapshot import Snapshot

__all__ = ["Sources"]

DEFAULT_INVENTORY = "clusters.yaml"


class Sources(BaseModel):
    """Where a plan's inputs come from (the options shared by plan, explain and emit)."""

    model_config = REQUEST

    repo: Path = Path(".")
    base: str | None = None
    head: str = "HEAD"
    inventory: Path | None = None
    policy: Path | None = None
    worktree: bool = False
    changed_files: str | None = None  # the text of a changed-files list
    changed_files_source: str = "--changed-files"
    emergency: str | None = None
    two_dot: bool = False  # base..head as given, not merge-base(base, head)..head
    strict: bool = False  # unmodelled wiring is a violation


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
    from planner.adapters import directory
    from planner.api import ranges
    from planner.plan import PlanInputs

    repo = _open_repo(sources)
    span: RangeInfo | None = None
    refs: list[str] = []
    if repo is None:
        head_snap: Snapshot = directory.DirectorySnapshot(sources.repo)
        base_snap: Snapshot = head_snap
        changes = _changed_files(sources)
    else:
        head_sha = None if sources.worktree else repo.resolve(sources.head, "--head")
        base_sha, span = _base_of(repo, sources, head_sha)
        branch = repo.branch_of("HEAD" if sources.worktree else sources.head)
        if branch:
            refs.append(f"branch={branch}")
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
    root = repo_root(sources, repo)
    inventory, base_inventory, inventory_paths = load_inventories(
        sources.inventory, root, head_snap, base_snap
    )
    base_inventory, notes = ranges.inventory_added(inventory, base_inventory)
    if repo is not None and not sources.worktree and sources.changed_files is None:
        notes += ranges.reversed_range(
            repo, base_snap.revision, head_snap.revision, sources.base or "merge base", sources.head
        )
    policy, policy_source = load_policy_file(sources.policy, inventory, root, head_snap)
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
        notes=tuple(notes),
        strict=sources.strict,
        refs=refs,
        range=span,
    )
    return Workspace(inputs=inputs, repo=repo, repo_url=origin)


def _base_of(repo: GitRepo, sources: Sources, head_sha: str | None) -> tuple[str, RangeInfo]:
    """The commit to compare with: merge-base(base, head) (three dots, what a pull request
    shows) unless `--two-dot`; an empty range is a UserError saying how to name the base."""
    from planner.plan import RangeInfo

    head = head_sha or repo.head_sha()
    if not sources.base:
        found = repo.default_base(head)  # already the merge base with the default branch
        span = RangeInfo(mode="three-dot", base="(default branch)", merge_base=found, head=head)
    else:
        given = repo.resolve(sources.base, "--base")
        if sources.two_dot:
            found = given
            span = RangeInfo(mode="two-dot", base=given, merge_base=None, head=head)
        else:
            found = repo.merge_base(given, head)
            span = RangeInfo(mode="three-dot", base=given, merge_base=found, head=head)
    if sources.worktree:
        span = span.model_copy(update={"mode": "worktree", "head": None})
    elif sources.changed_files is not None:
        span = span.model_copy(update={"mode": "changed-files"})
    elif found == head and sources.base and given != head:
        raise UserError.single(
            f"--base and --head are reversed: --head {sources.head} ({head[:12]}) is an "
            f"ancestor of --base {sources.base} ({given[:12]}), so there is nothing from base "
            "to head",
            key="--base",
            fix=f"swap them: --base {sources.head} --head {sources.base} (or --two-dot to "
            "plan the way back)",
        )
    elif found == head:
        raise UserError.single(
            f"nothing to plan: the range {found[:12]}..{head[:12]} is empty "
            + (
                f"(--base {sources.base} is --head or a descendant of it)"
                if sources.base
                else "(HEAD is on the default branch, so the merge base is HEAD itself)"
            ),
            key="--base",
            fix="name the base of the change: `--base origin/main` for a pull request, "
            "`--base HEAD~1` (or the push's `before` commit) for a push to the default branch",
        )
    return found, span


def _read_ahead(snap: Snapshot) -> None:
    """Start reading the kustomization files (the graph needs them all) while the inventory
    is parsed."""
    from planner import kustomize

    start = getattr(snap, "read_ahead", None)
    if start is not None:
        names = kustomize.KUSTOMIZATION_FILES
        start(p for p in snap.files() if p.rsplit("/", 1)[-1] in names)


def repo_urls(policy: RolloutPolicy, origin: str | None) -> list[str]:
    """The URLs that mean "this repository" to Flux and Argo CD objects.

    The origin remote counts only when it is a network URL: a clone of a local mirror says
    nothing about the URL the fleet's objects use, and then sources are matched by path.
    """
    from planner.wiring.repourl import is_network_url

    urls = [u for u in (policy.argocd.repoURL, policy.flux.url) if u]
    if origin and is_network_url(origin):
        urls.append(origin)
    return urls


def _open_repo(sources: Sources) -> GitRepo | None:
    from planner.adapters.gitrepo import GitRepo

    if sources.changed_files is not None and not (sources.repo / ".git").exists():
        if not sources.repo.is_dir():
            raise UserError.single(f"{sources.repo} is not a folder", key="--repo")
        try:
            return GitRepo(sources.repo)
        except UserError:
            return None
    return GitRepo(sources.repo)


def repo_root(sources: Sources, repo: GitRepo | None) -> Path:
    if repo is not None and repo.work_tree is not None:
        return (repo.work_tree / repo.prefix).resolve() if repo.prefix else repo.work_tree.resolve()
    return sources.repo.resolve()


def _changed_files(sources: Sources) -> ChangeSet:
    from planner.changes import parse_changed_files

    assert sources.changed_files is not None
    return parse_changed_files(sources.changed_files, source=sources.changed_files_source)


def load_inventories(
    path: Path | None, root: Path, head: Snapshot, base: Snapshot
) -> tuple[Inventory, Inventory, list[str]]:
    """The inventory at head and at base (read from git at base when it lives in the repo)."""
    from planner.adapters import files
    from planner.inventory import Inventory, parse_inventory

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
    path = locate_input(path, root)
    refuse_escaping_link(path, root, "--inventory", head, base)
    rel = path_inside(path, root)
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


def path_inside(path: Path, root: Path) -> str | None:
    try:
        rel = path.resolve().relative_to(root)
    except ValueError:
        return None
    return rel.as_posix() if rel.parts else None


def refuse_escaping_link(path: Path, root: Path, option: str, *snaps: Snapshot) -> None:
    """A file of the repository that is a symbolic link leading out of it (on disk, or as
    committed in one of `snaps`) is refused before anything reads it."""
    lexical = Path(os.path.abspath(path))
    try:
        rel = (lexical.parent.resolve() / lexical.name).relative_to(root)
    except ValueError:
        return  # a file outside the repository, given on purpose
    text = rel.as_posix()
    escapes = lexical.is_symlink() and path_inside(lexical, root) is None
    for snap in snaps:
        if snap.symlink_target(text) is not None and snap.resolve(text)[0] is None:
            escapes = True
    if escapes:
        raise UserError.single(
            f"{text} is a symbolic link that leads out of the repository; it is not read",
            file=text,
            key=option,
            fix=f"commit the file itself at {text}, or pass {option} with the real file",
        )


def _followed(snap: Snapshot, rel: str) -> str | None:
    """`rel`, or where the committed symbolic link `rel` leads (None: out of the snapshot)."""
    if snap.symlink_target(rel) is None:
        return rel
    return snap.resolve(rel)[0]


def _snapshot_file(snap: Snapshot, rel: str) -> bytes | None:
    """One file of a snapshot (a committed symbolic link followed inside it), or None."""
    real = _followed(snap, rel)
    return snap.read(real) if real is not None else None


def _snapshot_yaml(snap: Snapshot, rel: str) -> dict[str, bytes]:
    real = _followed(snap, rel)
    if real is None:
        return {}
    rel = real
    data = snap.read(rel)
    if data is not None:
        return {rel: data}
    if snap.is_dir(rel):
        wanted = sorted(
            p for p in snap.files() if p.startswith(rel + "/") and p.endswith((".yaml", ".yml"))
        )
        return snap.read_many(wanted)
    return {}


def locate_input(path: Path, root: Path | None) -> Path:
    """A relative input path as given (from the working directory), or else inside the
    repository: `--repo ../fleet --inventory clusters.yaml` finds the fleet's clusters.yaml."""
    if root is None or path.is_absolute() or path.exists() or not (root / path).exists():
        return path
    return root / path


def load_policy_file(
    path: Path | None,
    inventory: Inventory | None = None,
    root: Path | None = None,
    snapshot: Snapshot | None = None,
) -> tuple[RolloutPolicy, str]:
    """The policy at `path`; a file of the repository is read from `snapshot` (the revision
    the inventory is read from), and from disk when the snapshot does not hold it."""
    from planner import policy as policy_mod
    from planner.adapters import files

    if path is None:
        return policy_mod.default_policy(inventory), "built-in default"
    located = locate_input(path, root)
    if root is not None:
        refuse_escaping_link(located, root, "--policy", *([snapshot] if snapshot else []))
    rel = path_inside(located, root) if root is not None and snapshot is not None else None
    committed = _snapshot_file(snapshot, rel) if snapshot is not None and rel else None
    data = committed if committed is not None else files.read_input(located, "--policy")
    # an absolute path inside the repository (a CI runner's) is named relative to it
    inside = path_inside(located, root) if root is not None and path.is_absolute() else None
    source = inside or str(path)
    return policy_mod.load_policy(data, source=source), source
