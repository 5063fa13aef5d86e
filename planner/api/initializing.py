"""`init`: draft clusters.yaml and rollout.yaml from what a repository already says;
`policy init`: the built-in default policy, written out for editing.

Reads the repository (its working tree: what the user sees), asks the pure
`planner.discover` what clusters it declares, renders both drafts in memory with
`planner.draft` and writes them atomically, or writes nothing: an existing file is never
overwritten (a `Refusal`, exit 1, naming it), and a repository with no evidence of any
cluster is a `UserError` (exit 2) saying what was looked for.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import BaseModel

from planner.adapters import files
from planner.adapters.gitrepo import GitRepo
from planner.api.inputs import DEFAULT_INVENTORY, Sources, repo_root
from planner.api.request import REQUEST
from planner.discover import Discovery, discover
from planner.errors import Refusal, UserError
from planner.snapshot import Snapshot

__all__ = [
    "InitRequest",
    "InitResult",
    "PolicyDraft",
    "PolicyInitRequest",
    "init",
    "policy_init",
]

DEFAULT_POLICY = "rollout.yaml"


@dataclass
class InitResult:
    """The discovery, the drafted files (name -> text) and which were written."""

    discovery: Discovery
    drafts: dict[str, str]
    written: list[str] = field(default_factory=list)


class InitRequest(BaseModel):
    """`init`: the repository to draft for; `write=False` only drafts (`--dry-run`)."""

    model_config = REQUEST

    repo: Path = Path(".")
    write: bool = True


def init(request: InitRequest) -> InitResult:
    """Draft the inventory and the policy of `repo`; write them unless `write` is False."""
    repo, write = request.repo, request.write
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


class PolicyInitRequest(BaseModel):
    """`policy init`: the inventory the default policy is drawn for (None: none), and the
    file to write (None: only return the text)."""

    model_config = REQUEST

    inventory: Path | None = None
    out: Path | None = None


@dataclass(frozen=True)
class PolicyDraft:
    """The default policy as YAML, and where it was written (None: nowhere)."""

    text: str
    written: Path | None = None


def policy_init(request: PolicyInitRequest) -> PolicyDraft:
    """The built-in default policy (for the inventory's labels), written to `out` unless it
    exists."""
    from planner import policy as policy_mod
    from planner.inventory import parse_inventory
    from planner.schemas import modeline

    inv = None
    if request.inventory is not None:
        data = files.read_yaml_inputs(request.inventory, "--inventory")
        inv = parse_inventory(data, source=str(request.inventory))
    text = modeline("policy") + "\n"
    text += "# wave-planner rollout policy (see `wave-planner schema policy`)\n"
    text += policy_mod.policy_yaml(policy_mod.default_policy(inv))
    out = request.out
    if out is None:
        return PolicyDraft(text)
    if out.exists():
        raise UserError.single(
            f"{out} already exists", key="--out", fix="remove it or pick another path"
        )
    files.atomic_write(out, text.encode())
    return PolicyDraft(text, out)
