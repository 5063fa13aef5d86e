"""Every bad input the tool can be handed: exit 2, one clear line on stderr, nothing changed.

Each case runs the real command line (`python -m planner`) in a fresh folder holding a fleet
repository, so exit codes, stderr and the absence of a traceback are what a user sees. The
whole folder is fingerprinted before and after: a bad input never writes or changes a file.
A second table holds odd-but-valid repositories (detached HEAD, submodules, mode-only
changes, binary files, paths with spaces or unicode, broken YAML under review): they plan
with exit 0 or 1 and never crash.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from planner.adapters import files
from planner.cli import app
from planner.errors import UserError
from tests.testing.fleetrepo import FleetRepo
from tests.testing.paths import ROOT

TIME_LIMIT = 20.0


def fingerprint(folder: Path) -> dict[str, tuple[int, str]]:
    """Every path below `folder`: (mode, content digest) — folders included, symbolic links
    by their target (not followed)."""
    found: dict[str, tuple[int, str]] = {}

    def walk(directory: str, prefix: str) -> None:
        with os.scandir(directory) as entries:
            for entry in entries:
                rel = prefix + entry.name
                mode = entry.stat(follow_symlinks=False).st_mode
                if stat.S_ISLNK(mode):
                    found[rel] = (0, os.readlink(entry.path))
                elif stat.S_ISDIR(mode):
                    found[rel] = (mode, "dir")
                    walk(entry.path, rel + "/")
                else:
                    with open(entry.path, "rb") as data:
                        found[rel] = (mode, hashlib.sha256(data.read()).hexdigest())

    walk(str(folder), "")
    return dict(sorted(found.items()))


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    seconds: float


def cli(*args: str, cwd: Path) -> Outcome:
    """The command line in-process (fast); `real_cli` runs the real entry point."""
    start = time.monotonic()
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(app, list(args))
    finally:
        os.chdir(previous)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return Outcome(result.exit_code, result.stdout, result.stderr, time.monotonic() - start)


def real_cli(*args: str, cwd: Path) -> Outcome:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env["PYTHONPATH"] = str(ROOT)
    start = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "planner", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=TIME_LIMIT,
        check=False,
    )
    return Outcome(proc.returncode, proc.stdout, proc.stderr, time.monotonic() - start)


def git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    cmd += ["-c", "core.hooksPath=/dev/null", "-c", "protocol.file.allow=always"]
    proc = subprocess.run(
        [*cmd, "-C", str(repo), *args], check=True, capture_output=True, text=True, env=env
    )
    return proc.stdout.strip()


# ------------------------------------------------------------------- input builders


def billion_laughs(top: str) -> str:
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    previous = "a"
    for name in "bcdefghi":
        lines.append(f"{name}: &{name} [{', '.join(['*' + previous] * 9)}]")
        previous = name
    lines.append(f"{top}: *i")
    return "\n".join(lines) + "\n"


def alias_tower(top: str) -> str:
    """Depth built from aliases: few brackets per line, no deep indentation."""
    lines = ["x0: &a0 [1]"]
    lines += [f"x{i}: &a{i} [*a{i - 1}]" for i in range(1, 1500)]
    lines.append(f"{top}: *a1499")
    return "\n".join(lines) + "\n"


DEEP_FLOW = "[" * 20_000 + "]" * 20_000 + "\n"
DEEP_BLOCK = "- " * 20_000 + "x\n"

INVENTORY_OK_HEAD = "clusters:\n- name: prod-eu-west-1\n  labels: {environment: production}\n"


@dataclass(frozen=True)
class Bad:
    """One bad input: the file(s) to write, the command, what stderr must say."""

    id: str
    command: Callable[[Path, FleetRepo], list[str]]
    says: tuple[str, ...]
    write: dict[str, bytes] | None = None
    prepare: Callable[[Path, FleetRepo], None] | None = None


def _inventory(data: str | bytes) -> dict[str, bytes]:
    return {"inv.yaml": data.encode() if isinstance(data, str) else data}


def _policy(data: str | bytes) -> dict[str, bytes]:
    return {"rollout.yaml": data.encode() if isinstance(data, str) else data}


def validate_with_inventory(work: Path, repo: FleetRepo) -> list[str]:
    return ["validate", "--repo", str(repo.path), "--inventory", str(work / "inv.yaml")]


def plan_with_inventory(work: Path, repo: FleetRepo) -> list[str]:
    return [
        "plan",
        "--repo",
        str(repo.path),
        "--base",
        repo.base,
        "--head",
        repo.head,
        "--inventory",
        str(work / "inv.yaml"),
    ]


def validate_with_policy(work: Path, repo: FleetRepo) -> list[str]:
    return [
        "validate",
        "--repo",
        str(repo.path),
        "--inventory",
        str(repo.path / "clusters.yaml"),
        "--policy",
        str(work / "rollout.yaml"),
    ]


def plan_with_policy(work: Path, repo: FleetRepo) -> list[str]:
    return [*plan_with_inventory(work, repo)[:-2], "--policy", str(work / "rollout.yaml")]


def _cluster(**fields: str) -> str:
    body = "".join(f"\n  {k}: {v}" for k, v in fields.items())
    return f"clusters:\n- name: prod-eu-west-1{body}\n"


INVENTORY_CASES = [
    Bad(
        "malformed-yaml",
        validate_with_inventory,
        ("inv.yaml", "line 2"),
        _inventory("clusters: [\n"),
    ),
    Bad(
        "list-not-mapping",
        validate_with_inventory,
        ("inv.yaml", "expected a mapping"),
        _inventory("- a\n- b\n"),
    ),
    Bad(
        "clusters-not-a-list",
        validate_with_inventory,
        ("inv.yaml", "clusters", "expected a list"),
        _inventory("clusters: {a: 1}\n"),
    ),
    Bad(
        "not-utf8",
        validate_with_inventory,
        ("inv.yaml", "not UTF-8"),
        _inventory(b"clusters:\n- name: \xff\xfe\n"),
    ),
    Bad("nested-20000-flow", validate_with_inventory, ("inv.yaml", "nest"), _inventory(DEEP_FLOW)),
    Bad(
        "nested-20000-block", validate_with_inventory, ("inv.yaml", "nest"), _inventory(DEEP_BLOCK)
    ),
    Bad(
        "alias-bomb",
        validate_with_inventory,
        ("inv.yaml", "alias bomb"),
        _inventory(billion_laughs("clusters")),
    ),
    Bad(
        "alias-tower",
        validate_with_inventory,
        ("inv.yaml", "nested deeper"),
        _inventory(alias_tower("clusters")),
    ),
    Bad(
        "duplicate-key",
        validate_with_inventory,
        ("inv.yaml", "duplicate key 'labels'"),
        _inventory(_cluster(labels="{}") + "  labels: {}\n"),
    ),
    Bad(
        "duplicate-cluster-name",
        validate_with_inventory,
        ("inv.yaml", "clusters[1].name", "duplicate cluster name"),
        _inventory(INVENTORY_OK_HEAD + "- name: prod-eu-west-1\n"),
    ),
    Bad(
        "name-breaks-out-of-yaml",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].name", "DNS-1123"),
        _inventory('clusters:\n- name: "a\\n  injected: true"\n'),
    ),
    Bad(
        "name-with-template-braces",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].name"),
        _inventory('clusters:\n- name: "{{.server}}"\n'),
    ),
    Bad(
        "label-value-with-template-braces",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].labels", "{{.server}}"),
        _inventory(_cluster(labels='{region: "{{.server}}"}')),
    ),
    Bad(
        "label-value-breaks-out-of-yaml",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].labels"),
        _inventory(_cluster(labels='{region: "eu\\n  injected: x"}')),
    ),
    Bad(
        "label-key-with-template-braces",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].labels", "label key"),
        _inventory(_cluster(labels='{"{{x}}": a}')),
    ),
    Bad(
        "server-not-a-url",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].server", "not an https:// URL"),
        _inventory(_cluster(server="not a url")),
    ),
    Bad(
        "server-http",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].server", "https"),
        _inventory(_cluster(server="http://a.example.com")),
    ),
    Bad(
        "server-with-template-braces",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].server"),
        _inventory(_cluster(server='"https://{{.server}}"')),
    ),
    Bad(
        "path-escaping-the-repo",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].path"),
        _inventory(_cluster(path="../../etc")),
    ),
    Bad(
        "zero-clusters",
        validate_with_inventory,
        ("inv.yaml", "no clusters"),
        _inventory("clusters: []\n"),
    ),
    Bad("empty-file", validate_with_inventory, ("inv.yaml", "no clusters"), _inventory("")),
    Bad(
        "unknown-inventory-key",
        validate_with_inventory,
        ("inv.yaml", "clusters[0].lables", "unknown key"),
        _inventory(_cluster(lables="{}")),
    ),
    Bad(
        "inventory-missing",
        lambda w, r: [*validate_with_inventory(w, r)[:-1], str(w / "nope.yaml")],
        ("--inventory", "does not exist"),
    ),
    Bad(
        "inventory-in-plan",
        plan_with_inventory,
        ("inv.yaml", "duplicate cluster name"),
        _inventory(INVENTORY_OK_HEAD + "- name: prod-eu-west-1\n"),
    ),
]

POLICY_CASES = [
    Bad(
        "policy-malformed-yaml",
        validate_with_policy,
        ("rollout.yaml", "line"),
        _policy("waves: [\n"),
    ),
    Bad(
        "policy-list-not-mapping",
        validate_with_policy,
        ("rollout.yaml", "expected a mapping"),
        _policy("- waves\n"),
    ),
    Bad(
        "policy-not-utf8",
        validate_with_policy,
        ("rollout.yaml", "not UTF-8"),
        _policy(b"waves:\n- name: \xc3\x28\n"),
    ),
    Bad("policy-nested-20000", validate_with_policy, ("rollout.yaml", "nest"), _policy(DEEP_FLOW)),
    Bad(
        "policy-alias-bomb",
        validate_with_policy,
        ("rollout.yaml", "alias bomb"),
        _policy(billion_laughs("waves")),
    ),
    Bad(
        "policy-alias-tower",
        validate_with_policy,
        ("rollout.yaml", "nested deeper"),
        _policy(alias_tower("waves")),
    ),
    Bad(
        "policy-duplicate-key",
        validate_with_policy,
        ("rollout.yaml", "duplicate key 'waves'"),
        _policy("waves: []\nwaves: []\n"),
    ),
    Bad(
        "policy-unknown-key",
        validate_with_policy,
        ("rollout.yaml", "waves[0].bakee", "unknown key"),
        _policy("waves:\n- name: all\n  selector: {}\n  bakee: 1h\n"),
    ),
    Bad(
        "policy-unknown-top-level-key",
        validate_with_policy,
        ("rollout.yaml", "wavez", "unknown key"),
        _policy("waves:\n- name: all\n  selector: {}\nwavez: []\n"),
    ),
    Bad(
        "policy-unknown-nested-key",
        validate_with_policy,
        ("rollout.yaml", "identity.matchh", "unknown key"),
        _policy("waves:\n- name: all\n  selector: {}\nidentity: {matchh: exact}\n"),
    ),
    Bad(
        "policy-bad-regex",
        validate_with_policy,
        ("rollout.yaml", "name_matches"),
        _policy(
            "waves:\n- name: all\n  selector: {}\nidentity:\n  rules:\n"
            "  - {name_matches: '(', require: {region: x}}\n"
        ),
    ),
    Bad(
        "policy-bad-duration",
        validate_with_policy,
        ("rollout.yaml", "waves[0].bake", "duration"),
        _policy("waves:\n- name: all\n  selector: {}\n  bake: soon\n"),
    ),
    Bad(
        "policy-wave-name-injection",
        validate_with_policy,
        ("rollout.yaml", "waves[0].name"),
        _policy('waves:\n- name: "a\\n  b: {{x}}"\n  selector: {}\n'),
    ),
    Bad(
        "policy-constraint-without-limit",
        validate_with_policy,
        ("rollout.yaml", "constraints[0]"),
        _policy("waves:\n- name: all\n  selector: {}\nconstraints:\n- {label: compliance}\n"),
    ),
    Bad(
        "policy-in-plan",
        plan_with_policy,
        ("rollout.yaml", "waves[0].bakee"),
        _policy("waves:\n- name: all\n  selector: {}\n  bakee: 1h\n"),
    ),
    Bad(
        "policy-missing",
        lambda w, r: [*validate_with_policy(w, r)[:-1], str(w / "nope.yaml")],
        ("--policy", "does not exist"),
    ),
]


def _not_git(work: Path, repo: FleetRepo) -> list[str]:
    (work / "plain").mkdir()
    return ["plan", "--repo", str(work / "plain"), "--base", "HEAD~1"]


def _shallow(work: Path, repo: FleetRepo) -> list[str]:
    git(work, "clone", "-q", "--depth", "1", f"file://{repo.path}", "shallow")
    return ["plan", "--repo", str(work / "shallow"), "--base", repo.base, "--head", "HEAD"]


REPO_CASES = [
    Bad("repo-not-git", _not_git, ("--repo", "is not a git repository")),
    Bad(
        "repo-missing",
        lambda w, r: ["plan", "--repo", str(w / "nowhere")],
        ("--repo", "does not exist"),
    ),
    Bad(
        "base-does-not-exist",
        lambda w, r: ["plan", "--repo", str(r.path), "--base", "no-such-branch"],
        ("--base", "'no-such-branch' does not exist"),
    ),
    Bad(
        "head-does-not-exist",
        lambda w, r: ["plan", "--repo", str(r.path), "--base", r.base, "--head", "0" * 40],
        ("--head", "does not exist"),
    ),
    Bad(
        "revision-looks-like-an-option",
        lambda w, r: ["plan", "--repo", str(r.path), "--base=--output=x"],
        ("--base", "is not a revision"),
    ),
    Bad(
        "validate-rev-does-not-exist",
        lambda w, r: ["validate", "--repo", str(r.path), "--rev", "v9.9.9"],
        ("--rev", "does not exist"),
    ),
    Bad(
        "shallow-clone-without-base",
        _shallow,
        ("--base", "shallow clone", "git fetch --deepen", "fetch-depth: 0"),
    ),
    Bad(
        "explain-unknown-cluster",
        lambda w, r: [
            "explain",
            "prod-eu-wset-1",
            "--repo",
            str(r.path),
            "--base",
            r.base,
            "--head",
            r.head,
        ],
        ("CLUSTER", "did you mean prod-eu-west-1"),
    ),
    Bad(
        "emergency-without-reason",
        lambda w, r: ["plan", "--repo", str(r.path), "--base", r.base, "--emergency"],
        ("--reason",),
    ),
    Bad(
        "changed-files-not-utf8",
        lambda w, r: ["plan", "--repo", str(r.path), "--changed-files", str(w / "changed.txt")],
        ("changed.txt",),
        {"changed.txt": b"\xff\xfe\n"},
    ),
]


def _existing_out(work: Path, repo: FleetRepo) -> list[str]:
    return ["policy", "init", "--out", str(work / "rollout.yaml")]


OUT_CASES = [
    Bad(
        "policy-init-out-is-an-existing-file",
        _existing_out,
        ("--out", "already exists"),
        _policy("# mine\n"),
    ),
    Bad(
        "policy-init-out-is-a-folder",
        lambda w, r: ["policy", "init", "--out", str(w / "folder")],
        ("--out", "already exists"),
        prepare=lambda w, r: (w / "folder").mkdir(),
    ),
    Bad(
        "policy-init-out-below-a-file",
        lambda w, r: ["policy", "init", "--out", str(w / "afile" / "rollout.yaml")],
        ("--out", "cannot write"),
        {"afile": b"data\n"},
    ),
]

CASES = INVENTORY_CASES + POLICY_CASES + REPO_CASES + OUT_CASES


THROUGH_THE_REAL_ENTRY_POINT = {
    "malformed-yaml",  # the entry point itself: `main`, its exit code, stderr
    "alias-bomb",  # memory in a real process (`main` turns the cyclic collector off)
    "nested-20000-flow",  # the stack of a real process
    "shallow-clone-without-base",  # git run from a real process's environment
}
"""Every case runs in-process (`cli`); these also through `python -m planner`. Each bad input
becomes a UserError inside the typer app, so exit code, stderr and the absence of a
traceback are the app's for every case; the real process adds `main` and the resources of
a process (memory, stack, environment), which these four exercise."""


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Bad, fleet: Callable[[str], FleetRepo], tmp_path: Path) -> None:
    check_bad_input(case, fleet, tmp_path, cli)


@pytest.mark.parametrize(
    "case",
    [c for c in CASES if c.id in THROUGH_THE_REAL_ENTRY_POINT],
    ids=lambda c: c.id,
)
def test_bad_input_real_process(
    case: Bad, fleet: Callable[[str], FleetRepo], tmp_path: Path
) -> None:
    check_bad_input(case, fleet, tmp_path, real_cli)


def check_bad_input(
    case: Bad,
    fleet: Callable[[str], FleetRepo],
    tmp_path: Path,
    run: Callable[..., Outcome],
) -> None:
    repo = fleet("incident-fixed")
    work = tmp_path / "work"
    work.mkdir()
    for name, data in (case.write or {}).items():
        (work / name).write_bytes(data)
    if case.prepare is not None:
        case.prepare(work, repo)
    args = case.command(work, repo)
    before = fingerprint(tmp_path)
    outcome = run(*args, cwd=work)
    assert outcome.code == 2, (outcome.stdout, outcome.stderr)
    assert "Traceback" not in outcome.stderr
    assert outcome.stdout == ""
    lines = outcome.stderr.strip().splitlines()
    assert len(lines) == 1, outcome.stderr
    assert lines[0].startswith("error: ")
    for text in case.says:
        assert text in lines[0], f"{text!r} not in {lines[0]!r}"
    assert fingerprint(tmp_path) == before, "a bad input changed a file"
    assert outcome.seconds < TIME_LIMIT


# ------------------------------------------------------- writing: read-only, Ctrl-C


def test_policy_init_into_a_read_only_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    (folder / "keep.yaml").write_text("mine\n")
    folder.chmod(0o555)
    if os.geteuid() == 0:  # root ignores permissions: refuse the write as the kernel would

        def refuse(*args: object, **kwargs: object) -> tuple[int, str]:
            raise PermissionError(13, "Permission denied")

        monkeypatch.setattr(tempfile, "mkstemp", refuse)
    before = fingerprint(tmp_path)
    try:
        result = CliRunner().invoke(app, ["policy", "init", "--out", str(folder / "rollout.yaml")])
    finally:
        folder.chmod(0o755)
    assert result.exit_code == 2, result.output
    assert "cannot write" in result.output
    assert "Permission denied" in result.output
    folder.chmod(0o555)
    assert fingerprint(tmp_path) == before
    folder.chmod(0o755)


def test_atomic_write_interrupted_mid_write_leaves_the_old_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "out" / "rollout.yaml"
    target.parent.mkdir()
    target.write_bytes(b"old content\n")
    before = fingerprint(tmp_path)

    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, b"new content that never lands\n" * 1000)
    assert fingerprint(tmp_path) == before, "no temporary file and no half-written file left"
    assert target.read_bytes() == b"old content\n"


def test_atomic_write_interrupted_creating_a_new_file_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "rollout.yaml"
    real_fdopen = os.fdopen

    class Exploding:
        def __init__(self, fd: int, mode: str) -> None:
            self.handle = real_fdopen(fd, mode)

        def __enter__(self) -> Exploding:
            return self

        def __exit__(self, *exc: object) -> None:
            self.handle.close()

        def write(self, data: bytes) -> int:
            self.handle.write(data[: len(data) // 2])
            raise KeyboardInterrupt

    monkeypatch.setattr(os, "fdopen", Exploding)
    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, b"x" * 10_000)
    assert list(tmp_path.iterdir()) == []


def test_ctrl_c_during_policy_init_exits_130_and_writes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupted(fd: int) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "fsync", interrupted)
    result = CliRunner().invoke(app, ["policy", "init", "--out", str(tmp_path / "rollout.yaml")])
    assert result.exit_code == 130
    assert "nothing was left half-written" in result.output
    assert list(tmp_path.iterdir()) == []


def test_atomic_write_disk_error_is_a_user_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def full(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(UserError, match="No space left on device"):
        files.atomic_write(tmp_path / "x.yaml", b"data")
    assert list(tmp_path.iterdir()) == []


def test_emit_out_that_is_read_only_exits_2_and_is_left_unchanged(
    demo: FleetRepo, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Same contract as policy init: exit 2, one line on stderr, the --out folder untouched.

    Root ignores permission bits, so the operating system's refusal is simulated.
    """
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("hand-kept\n")
    before = fingerprint(out)
    real_write = Path.write_bytes

    def refuse(self: Path, data: bytes) -> int:
        if out in self.parents:
            raise PermissionError(13, "Permission denied", str(self))
        return real_write(self, data)

    monkeypatch.setattr(Path, "write_bytes", refuse)
    result = cli(
        "emit",
        "--target",
        "flux",
        "--out",
        str(out),
        "--repo",
        str(demo.path),
        "--base",
        demo.base,
        "--head",
        demo.head,
        cwd=tmp_path,
    )
    assert result.code == 2
    assert "cannot write to" in result.stderr
    assert "Traceback" not in result.stderr
    assert fingerprint(out) == before


# --------------------------------------------------- odd repositories that must plan


def _commit(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "--no-verify", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def _detached(repo: Path) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD~1")
    git(repo, "checkout", "-q", "--detach", "HEAD")
    return base, "HEAD"


def _submodule(repo: Path) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD")
    inner = repo.parent / "inner"
    inner.mkdir()
    git(inner, "init", "-q", "-b", "main")
    (inner / "README.md").write_text("inner\n")
    _commit(inner, "inner")
    git(repo, "submodule", "add", "-q", f"file://{inner}", "vendor/inner")
    return base, _commit(repo, "submodule")


def _mode_only(repo: Path) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "regions/eu-west/kustomization.yaml").chmod(0o755)
    return base, _commit(repo, "mode")


def _binary(repo: Path) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD")
    (repo / "base/logo.png").write_bytes(bytes(range(256)) * 8)
    (repo / "regions/eu-west/blob.yaml").write_bytes(b"\x00\x01\xff\xfe" * 64)
    kfile = repo / "regions/eu-west/kustomization.yaml"
    kfile.write_text(kfile.read_text() + "patches:\n- path: blob.yaml\n")
    return base, _commit(repo, "binary")


def _spaces_unicode(repo: Path) -> tuple[str, str]:
    base = git(repo, "rev-parse", "HEAD")
    folder = repo / "regions/eu-west/réglages région"
    folder.mkdir()
    (folder / "carte été.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: été\ndata: {a: b}\n"
    )
    kfile = repo / "regions/eu-west/kustomization.yaml"
    text = kfile.read_text().replace(
        "resources:\n", 'resources:\n  - "réglages région/carte été.yaml"\n', 1
    )
    kfile.write_text(text)
    (repo / "docs with space").mkdir()
    (repo / "docs with space/nötes.txt").write_text("x\n")
    return base, _commit(repo, "unicode")


@dataclass(frozen=True)
class Odd:
    id: str
    fleet: str
    change: Callable[[Path], tuple[str, str]]
    code: int
    affected: tuple[str, ...]


ODD_CASES = [
    Odd("detached-head", "incident-fixed", _detached, 0, ("prod-eu-west-1", "prod-eu-west-2")),
    Odd("submodule", "incident-fixed", _submodule, 0, ()),
    Odd("file-mode-only", "incident-fixed", _mode_only, 0, ()),
    Odd("binary-files", "incident-fixed", _binary, 1, ("prod-eu-west-1", "prod-eu-west-2")),
    Odd(
        "spaces-and-unicode",
        "incident-fixed",
        _spaces_unicode,
        0,
        ("prod-eu-west-1", "prod-eu-west-2"),
    ),
]


@pytest.mark.parametrize("case", ODD_CASES, ids=[c.id for c in ODD_CASES])
def test_odd_repository_plans(case: Odd, fleet: Callable[[str], FleetRepo], tmp_path: Path) -> None:
    repo = fleet(case.fleet)
    base, head = case.change(repo.path)
    before = fingerprint(tmp_path)
    outcome = cli(
        "plan", "--repo", str(repo.path), "--base", base, "--head", head, "-f", "json", cwd=tmp_path
    )
    assert outcome.code == case.code, outcome.stderr + outcome.stdout
    assert "Traceback" not in outcome.stderr
    plan = json.loads(outcome.stdout)
    assert tuple(a["cluster"] for a in plan["affected"]) == case.affected
    assert fingerprint(tmp_path) == before
    assert outcome.seconds < TIME_LIMIT
    again = cli("validate", "--repo", str(repo.path), "--rev", head, cwd=tmp_path)
    assert again.code in (0, 1), again.stderr
    assert "Traceback" not in again.stderr


def test_broken_yaml_under_review_is_a_plan_violation(
    fleet: Callable[[str], FleetRepo], tmp_path: Path
) -> None:
    repo = fleet("broken-yaml")
    outcome = cli(
        "plan", "--repo", str(repo.path), "--base", repo.base, "--head", repo.head, cwd=tmp_path
    )
    assert outcome.code == 1, outcome.stderr
    assert "broken-yaml" in outcome.stdout
    assert "environments/staging/kustomization.yaml" in outcome.stdout
    assert "staging-eu-west-1" in outcome.stdout
    assert "staging-us-east-1" in outcome.stdout
    assert outcome.stderr == ""
