"""What a rollout command trusts, and what it re-derives before deciding.

Trusted: the repository's committed history (the start commit of the rollout, the last
commit of its state) and the policy the rollout was started with, whose digest is recorded.
Re-derived on every command: each step's gates (wave, bake, approval) and clusters, from
that policy (`planner.rolloutaudit.gate_problems`); the state's consistency with its own
history (`audit`, done when the state is read); the fields `start` fixed, against the start
commit, and the history, against the last commit (`immutable_problems`). The actor (`--by`,
or git's user.name) and a `--reason` are one printable line. The clock may not go back
before the last event.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from planner import plancache
from planner import rolloutaudit as audit
from planner.adapters import gitrepo, rolloutrepo
from planner.errors import Problem, Refusal, UserError
from planner.release import messages
from planner.release.model import Rollout

if TYPE_CHECKING:
    from planner.plan import Plan


def check_by(by: str | None, option: str = "--by") -> str | None:
    if by is None:
        return None
    try:
        return audit.check_actor(by)
    except ValueError as exc:
        raise UserError.single(str(exc), key=option, fix="one line: a name or an email") from None


def check_reason(reason: str | None) -> str | None:
    if reason is None:
        return None
    try:
        return audit.check_line(reason, what="the reason", limit=audit.MAX_REASON)
    except ValueError as exc:
        raise UserError.single(str(exc), key="--reason", fix="pass one line") from None


def clean_actor(name: str | None) -> str:
    """git's user.name as an actor: one line, else `unknown`."""
    if not name:
        return "unknown"
    try:
        return audit.check_actor(name)
    except ValueError:
        return "unknown"


def now_after(state: Rollout) -> datetime:
    """The clock, refused when it is earlier than the rollout's last event."""
    now = rolloutrepo.now()
    why = audit.check_clock(state, now)
    if why:
        raise Refusal(why)
    return now


def verify(
    root: Path,
    state: Rollout,
    plan: Plan | None,
    *,
    cache: plancache.PlanCache | None = None,
) -> None:
    """Refuse (bad input, naming the field) a state its start commit or its last commit
    contradicts, or whose gates differ from those of the start policy (`plan`: the plan
    recomputed with that policy, None when the repository drifted; or `cache`: the plan
    cache standing for that plan, its inputs unchanged)."""
    source = rolloutrepo.relative(root, rolloutrepo.state_path(root, state.name))
    started, committed, start_commit = _versions(root, source)
    problems: list[Problem] = audit.immutable_problems(state, started, committed, source=source)
    if started is not None and start_commit is not None:
        problems += _start_policy(root, started, start_commit, source)
    specs = None
    if plan is not None and plan.policy.digest == state.policy_digest:
        specs = [
            (
                s.name,
                s.wave,
                tuple(s.clusters),
                s.bake,
                "required" if s.approval == "required" else "none",
            )
            for s in plan.waves
        ]
    elif cache is not None and cache.policy_digest == state.policy_digest:
        specs = plancache.gate_specs(cache)
    if specs is not None:
        label = f"digest {state.policy_digest[:12]}"
        problems += audit.gate_problems(state, specs, source=source, policy=label)
    if problems:
        raise UserError(problems)


def _versions(root: Path, source: str) -> tuple[Rollout | None, Rollout | None, str | None]:
    """The state as its start commit (the commit that added the file) has it, and as the
    last commit has it."""
    try:
        log = (
            gitrepo.run(
                root,
                "log",
                "--no-ext-diff",
                "--no-textconv",
                "--format=%H",
                "--diff-filter=A",
                "--",
                f":(literal){source}",
            )
            .decode()
            .split()
        )
    except UserError:
        return None, None, None
    start = log[0] if log else None  # the newest add: a name may be reused after a delete
    started = _load(root, start, source) if start else None
    committed = _load(root, "HEAD", source)
    return started, committed, start


def _load(root: Path, rev: str, source: str) -> Rollout | None:
    try:
        data = gitrepo.run(root, "cat-file", "blob", f"{rev}:./{source}")
    except UserError:
        return None
    try:
        return messages.load_state(data, source=f"{rev[:12]}:{source}")
    except UserError:
        return None


def _start_policy(root: Path, started: Rollout, commit: str, source: str) -> list[Problem]:
    """The policy file as of the start commit must have the digest `start` recorded."""
    rel = started.inputs.policy
    if rel is None:
        return []
    try:
        data = gitrepo.run(root, "cat-file", "blob", f"{commit}:./{rel}")
    except UserError:
        return []  # not committed with the start: the working tree's digest is checked
    from planner import policy as policy_mod

    try:
        digest = policy_mod.load_policy(data, source=f"{commit[:12]}:{rel}").digest()
    except UserError:
        return []
    if digest != started.policy_digest:
        return [
            Problem(
                f"the start commit {commit[:12]} holds {rel} with digest {digest[:12]}, not "
                f"the recorded {started.policy_digest[:12]}",
                file=source,
                key="policy_digest",
                fix="restore the file with git; change it only with `rollout ...`",
            )
        ]
    return []
