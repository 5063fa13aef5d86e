"""Approvals that scale and cannot be faked.

`approval: required` asks once per wave (at its first step), `approval: each-step` at every
step. `approval: {required: true, signers: .wave-planner/allowed_signers}` asks for a signed
approval: a commit or tag signed with an SSH key listed in that file (git's `allowed_signers`
format), whose message says what it approves (`Approve: <rollout>/<wave>`). The signers file
is read from the rollout's base commit (what ran before the change), so the change being
rolled out cannot add its own signer; a free-text `--by` is then refused. Verifying the
signature is an adapter's job (`planner.adapters.gitrepo.signatures`); this module owns the
model and the rules. Pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

TAG_PREFIX = "approve"


class ApprovalSpec(BaseModel):
    """An approval as a mapping: required or not, and who may sign it."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    required: bool = True
    signers: str | None = Field(
        default=None,
        description="allowed_signers file (repository path, read at the rollout's base "
        "commit): the approval must be a commit or tag signed by a key listed there.",
    )
    each_step: bool = Field(default=False, description="Ask at every step, not once per wave.")


def trailer(rollout: str, wave: str) -> str:
    """The line a signed approval's message must hold."""
    return f"Approve: {rollout}/{wave}"


def tag_name(rollout: str, wave: str) -> str:
    """The tag `advance` looks for when no --approval is given: `approve/<rollout>/<wave>`."""
    return f"{TAG_PREFIX}/{rollout}/{wave}"


@dataclass(frozen=True)
class Signature:
    """What verifying a commit or tag found."""

    ref: str
    sha: str
    good: bool
    principal: str | None
    message: str
    detail: str


def check(signature: Signature, rollout: str, wave: str) -> str | None:
    """Why this signed object is not an approval of `wave` in `rollout` (None: it is)."""
    if not signature.good or not signature.principal:
        return f"{signature.ref} ({signature.sha[:12]}) is not signed by a listed key: " + (
            signature.detail or "no valid signature"
        )
    wanted = trailer(rollout, wave)
    lines = [line.strip() for line in signature.message.splitlines()]
    if wanted not in lines:
        return (
            f"{signature.ref} ({signature.sha[:12]}) is signed by {signature.principal} but "
            f"does not say what it approves: its message needs the line {wanted!r}"
        )
    return None


_GOOD = re.compile(r'Good "git" signature for (\S+) with')


def principal_of(output: str) -> str | None:
    """The signer git/ssh-keygen verified (`Good "git" signature for alice@example.com`)."""
    match = _GOOD.search(output)
    return match.group(1) if match else None
