"""Verifying signed approvals with git and ssh-keygen.

The allowed signers are read from the rollout's base commit (never from the working tree or
the change being rolled out), written to a private temporary file, and handed to git as
`gpg.ssh.allowedSignersFile`; git runs `ssh-keygen -Y verify`. Git runs without hooks,
filters, an fsmonitor or a pager, and without the user's signing programs
(`planner.adapters.gitrepo.process`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

from planner import approvals
from planner.adapters.gitrepo.process import call
from planner.errors import Refusal


@dataclass(frozen=True)
class _Output:
    returncode: int
    stdout: str
    stderr: str


def _git(root: Path, *args: str, check: bool = True) -> _Output:
    proc = call(root, "-c", "gpg.format=ssh", *args, signing=True)
    out = _Output(proc.returncode, proc.stdout.decode(errors="replace"),
                  proc.stderr.decode(errors="replace"))  # fmt: skip
    if check and out.returncode != 0:
        raise Refusal(f"git {args[0]} failed: {out.stderr.strip()}")
    return out


def signers_at(root: Path, base: str, path: str) -> bytes:
    """The allowed-signers file as committed at `base` (refused when it is not there)."""
    proc = call(root, "cat-file", "blob", f"{base}:{path}")
    if proc.returncode != 0:
        raise Refusal(
            f"the allowed signers file {path} is not in the rollout's base commit "
            f"{base[:12]}: signed approvals are verified against the signers committed "
            "before the change, so commit it first and start a new rollout"
        )
    return proc.stdout


def ref_exists(root: Path, ref: str) -> bool:
    return (
        _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{object}}", check=False).returncode
        == 0
    )


def verify(root: Path, ref: str, allowed: bytes) -> approvals.Signature:
    """Verify a commit or tag against the allowed signers; what it says and who signed it."""
    found = _git(root, "rev-parse", "--verify", "--quiet", f"{ref}^{{object}}", check=False)
    if found.returncode != 0:
        raise Refusal(f"--approval {ref}: no such commit or tag in the repository")
    sha = found.stdout.strip()
    kind = _git(root, "cat-file", "-t", sha).stdout.strip()
    if kind not in ("commit", "tag"):
        raise Refusal(f"--approval {ref} is a {kind}, not a commit or tag")
    raw = _git(root, "cat-file", kind, sha).stdout
    message = raw.split("\n\n", 1)[1] if "\n\n" in raw else ""
    with tempfile.TemporaryDirectory(prefix="wave-planner-signers-") as tmp:
        signers = Path(tmp) / "allowed_signers"
        signers.write_bytes(allowed)
        proc = _git(
            root,
            "-c",
            f"gpg.ssh.allowedSignersFile={signers}",
            f"verify-{kind}",
            "-v",
            sha,
            check=False,
        )
    output = proc.stderr
    principal = approvals.principal_of(output) if proc.returncode == 0 else None
    detail = _reason(output) if principal is None else ""
    return approvals.Signature(ref, sha, principal is not None, principal, message, detail)


def _reason(output: str) -> str:
    lines = [
        line.strip()
        for line in output.splitlines()
        if line.strip() and not line.startswith(("tree ", "parent ", "author ", "committer "))
    ]
    for line in lines:
        lowered = line.lower()
        if "no signature" in lowered or "no principal" in lowered or "could not verify" in lowered:
            return line
        if "bad signature" in lowered or "error" in lowered:
            return line
    return "no valid signature"
