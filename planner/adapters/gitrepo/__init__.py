"""Git, the planner's one door to it: revisions, changes, file snapshots, commits, signatures.

- `process`: every git process (one-shot `call`/`run`, the `cat-file --batch` object
  reader) with the safe configuration: no hooks, no fsmonitor, no external diff or
  textconv, no pager, no filter, no signing program unless asked, no credential helper,
  and an environment without the variables that start programs.
- `repo`: `GitRepo`, a repository opened read-only (found with `git rev-parse`, its
  configuration read with `git config`); revisions, merge bases, `diff --raw -z`
  (`rawdiff`), snapshots of a commit's files read from git objects (`snapshot`), no
  checkout ever.
- `commits`: a commit of some folders through plumbing (`prepare_commit`, `publish`).
- `changes`: the same commit built from the changed folders' trees only
  (`prepare_changes`), or None where git would convert a file (then `prepare_commit`).
- `signatures`: signed approvals verified with `ssh-keygen` against committed signers.

Errors a user can fix (not a repository, an unknown revision, a shallow clone missing the
base, a failed commit) become `UserError`s that say how.
"""

from __future__ import annotations

from planner.adapters.gitrepo.changes import prepare_changes
from planner.adapters.gitrepo.commits import PreparedCommit, prepare_commit, publish
from planner.adapters.gitrepo.process import call, config_value, run, safe_env
from planner.adapters.gitrepo.repo import GitRepo
from planner.adapters.gitrepo.snapshot import SYMLINK_MODE, GitSnapshot

__all__ = [
    "SYMLINK_MODE",
    "GitRepo",
    "GitSnapshot",
    "PreparedCommit",
    "call",
    "config_value",
    "prepare_changes",
    "prepare_commit",
    "publish",
    "run",
    "safe_env",
]
