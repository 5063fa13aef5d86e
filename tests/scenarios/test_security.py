"""Nothing from the repository under review is executed, fetched or trusted.

A hostile fleet repository carries git hooks, a kustomize exec plugin, a Helm chart, remote
bases, a diff driver and an fsmonitor hook, each of which would leave a marker file if run;
every command that reads the repository must leave no marker and open no network
connection. The YAML loaders construct plain data only, within size, depth and alias limits,
and inventory values that could break out of a template never pass validation.
"""

from __future__ import annotations

import os
import socket
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner import yamlsafe
from planner.cli import app
from planner.errors import UserError
from planner.inventory import parse_inventory
from planner.policy import load_policy
from tests.testing.examples import examples
from tests.testing.fleetrepo import FleetRepo


def _script(path: Path, marker: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f'#!/bin/sh\necho "$0 $* (from: $(ps -o args= $PPID))" >> "{marker}"\n'
        "cat 2>/dev/null || true\n"
    )
    path.chmod(path.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)


def _git(repo: Path, *args: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1")
    cmd = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo), *args]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, env=env).stdout.strip()


EXEC_PLUGIN = """\
apiVersion: example.com/v1
kind: Pwn
metadata:
  name: pwn
  annotations:
    config.kubernetes.io/function: |
      exec:
        path: ./pwn.sh
"""

HOOKS = (
    "post-checkout",
    "pre-commit",
    "post-commit",
    "post-merge",
    "pre-push",
    "reference-transaction",
    "post-index-change",
    "fsmonitor-watchman",
    "pre-auto-gc",
)


@pytest.fixture
def hostile(
    fleet: Callable[[str], FleetRepo], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[FleetRepo, str, Path]:
    """The incident-fixed fleet plus a commit full of things that must never run."""
    built = fleet("incident-fixed")
    repo = built.path
    marker = tmp_path / "EXECUTED"
    region = repo / "regions/eu-west"
    (region / "pwn.yaml").write_text(EXEC_PLUGIN)
    _script(region / "pwn.sh", marker)
    (region / "charts/evil").mkdir(parents=True)
    (region / "charts/evil/Chart.yaml").write_text("apiVersion: v2\nname: evil\nversion: 0.1.0\n")
    kfile = region / "kustomization.yaml"
    kfile.write_text(
        kfile.read_text()
        + "generators:\n- pwn.yaml\ntransformers:\n- pwn.yaml\n"
        + "helmCharts:\n- name: evil\n  releaseName: evil\n"
        + "components:\n- https://github.com/example/evil//component?ref=v1\n"
    )
    (repo / ".gitattributes").write_text("*.yaml diff=evil\n")
    _git(repo, "add", "-A")
    _git(repo, "commit", "-q", "--no-verify", "-m", "hostile")
    head = _git(repo, "rev-parse", "HEAD")
    # Local configuration and hooks a hostile clone could have been given.
    for hook in HOOKS:
        _script(repo / ".git/hooks" / hook, marker)
    _git(repo, "config", "diff.evil.textconv", str(region / "pwn.sh"))
    _git(repo, "config", "diff.external", str(region / "pwn.sh"))
    _git(repo, "config", "core.fsmonitor", str(region / "pwn.sh"))
    # Renderers on PATH that would betray being called.
    shims = tmp_path / "shims"
    for tool in ("kustomize", "helm", "kubectl", "flux", "argocd"):
        _script(shims / tool, marker)
    monkeypatch.setenv("PATH", f"{shims}{os.pathsep}{os.environ['PATH']}")

    # No network: any connection attempt fails the test.
    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"network access attempted: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    return FleetRepo(repo, built.base, head), head, marker


def test_planning_a_hostile_repository_executes_nothing(
    hostile: tuple[FleetRepo, str, Path],
) -> None:
    built, head, marker = hostile
    repo = str(built.path)
    commands = [
        ["plan", "--repo", repo, "--base", built.base, "--head", head],
        ["plan", "--repo", repo, "--base", built.base, "--head", head, "-f", "json"],
        ["plan", "--repo", repo, "--base", built.base, "--head", head, "-f", "markdown"],
        ["explain", "prod-eu-west-1", "--repo", repo, "--base", built.base, "--head", head],
        ["graph", "--repo", repo, "--rev", head],
        ["validate", "--repo", repo, "--rev", head],
        ["validate", "--repo", repo],
    ]
    for args in commands:
        result = CliRunner().invoke(app, args)
        assert result.exit_code in (0, 1), (args, result.output)
        assert not marker.exists(), f"{args[0]} ran something: {marker.read_text()}"
    result = CliRunner().invoke(app, commands[1])
    assert "prod-eu-west-1" in result.output  # the hostile layer was still read and planned


def test_remote_references_are_never_fetched(hostile: tuple[FleetRepo, str, Path]) -> None:
    built, head, _ = hostile
    result = CliRunner().invoke(
        app,
        [
            "explain",
            "prod-eu-west-1",
            "--repo",
            str(built.path),
            "--base",
            built.base,
            "--head",
            head,
            "--json",
        ],
    )
    assert result.exit_code in (0, 1), result.output


# ------------------------------------------------------------------------ loaders


@pytest.mark.parametrize(
    "text",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
        "a: !!python/name:os.system\n",
        "!!binary aGVsbG8=\n",
    ],
)
def test_loaders_construct_plain_data_only(text: str, tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    data = text.format(marker=marker).encode()
    for strict in (False, True):
        try:
            loaded = yamlsafe.load_all(data, strict=strict)
        except yamlsafe.YamlError:
            continue
        assert all(isinstance(doc, bytes | str | dict | list | int) for doc in loaded)
    assert not marker.exists()


def test_size_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(yamlsafe.loading, "MAX_BYTES", 1024)
    with pytest.raises(yamlsafe.YamlError, match="larger than"):
        yamlsafe.load_all(b"a: " + b"x" * 2048)


@pytest.mark.parametrize(
    "text",
    [
        "[" * 300 + "]" * 300,
        "{a: " * 300 + "1" + "}" * 300,
        "".join(f"{' ' * i}k:\n" for i in range(300)) + " " * 300 + "v\n",
        "- " * 300 + "x\n",
    ],
    ids=["flow-seq", "flow-map", "block-map", "block-seq"],
)
def test_depth_limit(text: str) -> None:
    with pytest.raises(yamlsafe.YamlError, match=r"nest|depth"):
        yamlsafe.load_all(text.encode())


def test_depth_below_the_limit_loads() -> None:
    assert yamlsafe.load_one(b"[" * 150 + b"]" * 150) is not None


def test_alias_limits() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [{', '.join(['*' + prev] * 10)}]")
    with pytest.raises(yamlsafe.YamlError, match="alias bomb"):
        yamlsafe.load_all("\n".join(lines).encode())
    with pytest.raises(yamlsafe.YamlError, match="recursive"):
        yamlsafe.load_all(b"a: &a [*a]\n")
    shared = yamlsafe.load_one(b"x: &x {k: v}\ny: [*x, *x, *x]\n")
    assert shared["y"] == [{"k": "v"}] * 3


# ------------------------------------------------------- inventory values are inert

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            "{{.server}}",
            "{{ .name }}",
            "a\n  injected: true",
            "a: b",
            "${HOME}",
            "$(touch x)",
            "`id`",
            "a}}b",
            "x{{",
            "https://{{.server}}",
            "https://a.example.com\n  injected: x",
            "https://a.example.com/{{x}}",
            'https://a.example.com/"x',
        ]
    ),
)


@settings(max_examples=examples(300), deadline=None)
@given(name=HOSTILE_TEXT, key=HOSTILE_TEXT, value=HOSTILE_TEXT, server=HOSTILE_TEXT)
def test_inventory_values_never_carry_template_or_yaml_syntax(
    name: str, key: str, value: str, server: str
) -> None:
    text = yamlsafe.dump(
        {"clusters": [{"name": name, "labels": {key: value}, "server": server}]}
    ).encode()
    try:
        inventory = parse_inventory({"clusters.yaml": text}, source="clusters.yaml")
    except UserError:
        return
    (cluster,) = inventory.clusters
    for item in (cluster.name, *cluster.labels, *cluster.labels.values(), cluster.server or ""):
        for bad in ("{{", "}}", "\n", "\r", '"', "'", "`", "$("):
            assert bad not in item


def test_policy_loader_refuses_python_tags(tmp_path: Path) -> None:
    marker = tmp_path / "EXECUTED"
    data = f"waves: !!python/object/apply:os.system ['touch {marker}']\n".encode()
    with pytest.raises(UserError):
        load_policy(data, source="rollout.yaml")
    assert not marker.exists()


# ------------------------------------------------ writing commands run nothing either

WRITE_HOOKS = (
    *HOOKS,
    "pre-commit",
    "prepare-commit-msg",
    "commit-msg",
    "post-rewrite",
    "pre-merge-commit",
    "post-index-change",
)


def test_every_command_runs_no_hook_filter_fsmonitor_or_signing_program(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A fleet whose clone brings hooks (also through core.hooksPath), clean/smudge/process
    filters, an fsmonitor, a gpg program with signing on, an external diff and a pager:
    planning the work tree, emitting, and every rollout command with --commit run none."""
    from tests.testing.rolloutfleet import NAME, git, start_args, write_fleet

    write_fleet(tmp_path / "src")
    from tests.testing.fleetrepo import build_fleet_repo

    built = build_fleet_repo(tmp_path / "src", tmp_path / "fleet")
    repo = built.path
    monkeypatch.setenv("GIT_CONFIG_GLOBAL", os.devnull)
    monkeypatch.setenv("GIT_CONFIG_NOSYSTEM", "1")
    git(repo, "config", "user.name", "Release Manager")
    git(repo, "config", "user.email", "rm@example.com")
    git(repo, "remote", "add", "origin", "https://git.example.com/platform/fleet.git")
    (repo / ".gitattributes").write_text("* filter=evil diff=evil\n")
    git(repo, "add", ".gitattributes")
    git(repo, "commit", "-qm", "attributes")
    marker = tmp_path / "EXECUTED"
    evil = tmp_path / "evil.sh"
    _script(evil, marker)
    for hook in WRITE_HOOKS:
        _script(repo / ".git/hooks" / hook, marker)
        _script(tmp_path / "hooks" / hook, marker)
    for key, value in {
        "core.hooksPath": str(tmp_path / "hooks"),
        "filter.evil.clean": str(evil),
        "filter.evil.smudge": str(evil),
        "filter.evil.process": str(evil),
        "filter.evil.required": "true",
        "diff.evil.textconv": str(evil),
        "diff.external": str(evil),
        "core.fsmonitor": str(evil),
        "core.pager": str(evil),
        "gpg.program": str(evil),
        "gpg.ssh.program": str(evil),
        "commit.gpgSign": "true",
        "core.editor": str(evil),
    }.items():
        git(repo, "config", key, value)
    settings = repo / "regions/eu-west/settings.yaml"
    original = settings.read_bytes()
    settings.write_bytes(original.replace(b"v2", b"v9"))
    head = "HEAD~1"
    policy = str(repo / "rollout.yaml")
    commands = [
        ["plan", "--repo", str(repo), "--base", built.base, "--worktree", "--policy", policy],
        ["emit", "--target", "flux", "--out", str(tmp_path / "out"), "--repo", str(repo),
         "--base", built.base, "--head", "HEAD", "--policy", policy],
    ]  # fmt: skip
    for args in commands:
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (args, result.output)
        assert not marker.exists(), f"{args[0]} ran {marker.read_text()}"
    settings.write_bytes(original)
    env = {"WAVE_PLANNER_NOW": "2024-01-03T09:00:00Z"}
    rollout = [
        [*start_args(built, NAME, built.base, head, "argocd"), "--commit"],
        ["advance", NAME, "--commit"],
        ["pause", NAME, "--commit"],
        ["resume", NAME, "--commit"],
        ["rollback", NAME, "--commit"],
        ["status", NAME],
        ["list"],
    ]
    for minute, args in enumerate(rollout):
        env["WAVE_PLANNER_NOW"] = f"2024-01-03T09:{minute:02d}:00Z"
        result = CliRunner().invoke(app, ["rollout", *args, "--repo", str(repo)], env=env)
        assert result.exit_code == 0, (args, result.output)
        assert not marker.exists(), f"rollout {args[0]} ran {marker.read_text()}"
    # --sign uses the standard signing program with the user's key, never gpg.program:
    # here there is no key, so the commit fails (exit 2) and nothing changes.
    env["WAVE_PLANNER_NOW"] = "2024-01-03T10:00:00Z"
    signed = CliRunner().invoke(
        app, ["rollout", "pause", NAME, "--commit", "--sign", "--repo", str(repo)], env=env
    )
    assert signed.exit_code in (0, 2), signed.output
    assert not marker.exists(), f"--sign ran {marker.read_text()}"
    log = subprocess.run(
        ["git", "-C", str(repo), "-c", "core.fsmonitor=false", "-c", "gpg.program=gpg", "log",
         "--format=%s|%G?", "-6"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert log.count(f"rollout {NAME}:") >= 5
    assert "|N" in log  # not signed: signing is only ever an explicit --sign
    assert not marker.exists()
