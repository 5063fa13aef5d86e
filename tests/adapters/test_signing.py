"""Signed approvals with real SSH keys: git verifies against the signers of the base commit."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.testing import gatefleet
from tests.testing.fleetrepo import FleetRepo, from_template
from tests.testing.rolloutfleet import git

pytestmark = pytest.mark.skipif(
    shutil.which("ssh-keygen") is None,
    reason="ssh-keygen is not installed (apt-get install openssh-client)",
)
NAME = "regions"
SIGNERS = ".wave-planner/allowed_signers"
APPROVAL = "{required: true, signers: .wave-planner/allowed_signers}"


def _key(folder: Path, who: str) -> tuple[Path, str]:
    path = folder / f"{who}_ed25519"
    subprocess.run(
        ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", who, "-f", str(path)], check=True
    )
    return path, path.with_suffix(".pub").read_text().split(" ", 2)[:2]  # type: ignore[return-value]


def _line(who: str, public: Any) -> str:
    return f"{who}@example.com {public[0]} {public[1]}\n"


def _signed(repo: Path, key: Path | None, message: str, *, tag: str | None = None) -> str:
    sign = ["-c", "gpg.format=ssh", "-c", f"user.signingkey={key}"] if key else []
    if tag:
        git(repo, *sign, "tag", *(["-s"] if key else ["-a"]), "-m", message, tag)
        return tag
    flag = ["-S"] if key else ["--no-gpg-sign"]
    git(repo, *sign, "commit", "--allow-empty", "--quiet", *flag, "-m", message)
    return git(repo, "rev-parse", "HEAD").strip()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, Any]]:
    """Alice's, Bob's and Mallory's SSH keys (made once: the tests only read them)."""
    folder = tmp_path_factory.mktemp("keys")
    return {who: _key(folder, who) for who in ("alice", "bob", "mallory")}


@pytest.fixture
def signed_fleet(tmp_path: Path, keys: dict[str, tuple[Path, Any]]) -> tuple[Any, dict[str, Path]]:
    """The gated fleet, started and released up to production's approval (once per run,
    then copied: the tests differ only in how production is approved)."""
    (_, alice_pub), (_, mallory_pub) = keys["alice"], keys["mallory"]

    def started(dest: Path) -> FleetRepo:
        dest.mkdir()
        repo, _ = gatefleet.build(
            dest,
            approval=APPROVAL,
            base_files={SIGNERS: _line("alice", alice_pub)},
            # The change being rolled out adds its own signer: it must not count.
            head_files={SIGNERS: _line("alice", alice_pub) + _line("mallory", mallory_pub)},
        )
        run = gatefleet.runner(repo)
        run("start", "--name", NAME, "--base", "HEAD~1", "--head", "HEAD", "--policy",
            "rollout.yaml")  # fmt: skip
        run("advance", NAME, minute=5)
        run("advance", NAME, minute=70)
        return repo

    key = ("signed fleet, released to production's approval", str(keys["alice"][0]))
    repo = from_template(key, tmp_path / "fleet", started)
    return repo, {who: path for who, (path, _) in keys.items()}


def test_only_a_listed_key_from_the_base_commit_approves(
    signed_fleet: tuple[Any, dict[str, Path]],
) -> None:
    repo, keys = signed_fleet
    run = gatefleet.runner(repo)
    trailer = f"Approve production\n\nApprove: {NAME}/production\n"
    free = run("advance", NAME, "--approve", "--by", "alice", minute=140, code=1)
    assert "a free-text --by alice is refused" in free.stderr
    waiting = run("advance", NAME, "--if-ready", minute=140)
    assert "waiting for approval" in waiting.stdout
    assert f"Approve: {NAME}/production" in waiting.stdout
    unsigned = _signed(repo.path, None, trailer)
    out = run("advance", NAME, "--approval", unsigned, minute=141, code=1)
    assert "is not signed by a listed key" in out.stderr
    for who in ("bob", "mallory"):
        rev = _signed(repo.path, keys[who], trailer)
        out = run("advance", NAME, "--approval", rev, minute=142, code=1)
        assert "is not signed by a listed key" in out.stderr, who
    vague = _signed(repo.path, keys["alice"], "looks good to me\n")
    out = run("advance", NAME, "--approval", vague, minute=143, code=1)
    assert "signed by alice@example.com but does not say what it approves" in out.stderr
    state = yaml.safe_load((repo.path / "waves" / NAME / "rollout.yaml").read_text())
    assert state["steps"][2]["state"] == "pending"
    good = _signed(repo.path, keys["alice"], trailer)
    out = run("advance", NAME, "--approval", good, minute=144)
    assert f"approved by alice@example.com (signed {good[:12]})" in out.stdout


def test_a_signed_tag_lets_if_ready_go_on(signed_fleet: tuple[Any, dict[str, Path]]) -> None:
    repo, keys = signed_fleet
    run = gatefleet.runner(repo)
    _signed(repo.path, keys["alice"], f"Approve: {NAME}/production\n",
            tag=f"approve/{NAME}/production")  # fmt: skip
    out = run("advance", NAME, "--if-ready", minute=140)
    assert "advance production-1" in out.stdout
    assert "approved by alice@example.com" in out.stdout


def test_a_tag_signed_by_an_unlisted_key_is_refused(
    signed_fleet: tuple[Any, dict[str, Path]],
) -> None:
    repo, keys = signed_fleet
    run = gatefleet.runner(repo)
    _signed(repo.path, keys["mallory"], f"Approve: {NAME}/production\n",
            tag=f"approve/{NAME}/production")  # fmt: skip
    out = run("advance", NAME, "--if-ready", minute=140, code=1)
    assert "approval refused" in out.stderr
    assert "not signed by a listed key" in out.stderr
