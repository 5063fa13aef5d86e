"""`init`: draft clusters.yaml and rollout.yaml from what a repository already says.

Reads the repository (its working tree: what the user sees), asks the pure
`planner.discover` what clusters it declares, renders both drafts in memory with
`planner.draft` and writes them atomically, or writes nothing: an existing file is never
overwritten (a `Refusal`, exit 1, naming it), and a repository with no evidence of any
cluster is a `UserError` (exit 2) saying what was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from planner.adapters import files
from planner.adapters.gitrepo import GitRepo
from planner.api.inputs import DEFAULT_INVENTORY, Sources, repo_root
from planner.discover import Discovery, discover
from planner.errors import Refusal, UserError
from planner.snapshot import Snapshot

DEFAULT_POLICY = "rollout.yaml"


@dataclass
class InitResult:
    """The discovery, the drafted files (name -> text) and which were written."""

    discovery: Discovery
    drafts: dict[str, str]
    written: list[str] = field(default_factory=list)


def init(repo: Path, *, write: bool = True) -> InitResult:
    """Draft the inventory and the policy of `repo`; write them unless `write` is False."""
    if not repo.is_dir():
        raise UserError.single(f"{repo} is not a folder", key="--repo")
    git_repo: GitRepo | None = None
    try:
        if (repo / ".git").exists():
            git_repo = GitRepo(repo)
            snap: Snapshot = git_repo.worktree_snapshot()
        else:
            snap = files.DirectorySnapshot(repo)
        root = repo_root(Sources(repo=repo), git_repo)
        found = discover(snap)
    finally:
        if git_repo is not None:
            git_repo.close()
    if not found.clusters:
        raise UserError.single(
            "found no cluster in the repository: no Flux bootstrap folder "
            "(flux-system/gotk-sync.yaml), no Argo CD cluster Secret, no folder under "
            "clusters/ (or envs/, overlays/), no Rancher Fleet target naming a cluster",
            file=str(repo),
            fix=f"write {DEFAULT_INVENTORY} by hand (see docs/inventory.md)",
        )
    from planner import draft

    drafts = {
        DEFAULT_INVENTORY: draft.render_inventory(found),
        DEFAULT_POLICY: draft.render_policy(found),
    }
    result = InitResult(found, drafts)
    if not write:
        return result
    existing = [name for name in drafts if (root / name).exists()]
    if existing:
        raise Refusal(
            f"{' and '.join(existing)} already exist{'s' if len(existing) == 1 else ''} in "
            f"{root.name or root}; init never overwrites a file: nothing was written "
            "(move it away, or use --dry-run to print the drafts)"
        )
    for name, text in drafts.items():
        files.atomic_write(root / name, text.encode())
        result.written.append(name)
    return result
