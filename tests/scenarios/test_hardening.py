"""Smaller guards: renderer flags however spelt, linear-time policy regexes, capped inputs,
bounded error lines, the lock's own rules."""

from __future__ import annotations

import json
import os
import re
import socket
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from planner import saferegex
from planner.adapters import lock, renderer
from planner.cli import app
from planner.cli import options as opt
from planner.durations import duration_seconds
from planner.errors import Problem, Refusal, UserError
from planner.policy import RenderSettings
from tests.testing.examples import examples

# ------------------------------------------------------------------------- renderer


@pytest.mark.parametrize(
    "command",
    [
        ["kubectl", "kustomize", "--enable_helm"],
        ["kustomize", "build", "--Enable-Helm=true"],
        ["kustomize", "build", "-enable-helm"],
        ["kustomize", "build", "--ENABLE_ALPHA_PLUGINS"],
        ["kustomize", "build", "--enable_exec=1"],
        ["kustomize", "build", "--helm_command", "/bin/sh"],
        ["kustomize", "build", "--network"],
        ["sh", "-c", "kustomize build --enable_helm ."],
    ],
)
def test_forbidden_renderer_flags_are_caught_however_spelt(command: list[str]) -> None:
    settings_ = RenderSettings(command=tuple(command))
    with pytest.raises(UserError, match="never runs plugins"):
        renderer.find_command(settings_, which=lambda name: f"/usr/bin/{name}")


def test_ordinary_renderer_flags_pass() -> None:
    settings_ = RenderSettings(command=("kustomize", "build", "--enable-managedby-label"))
    found = renderer.find_command(settings_, which=lambda name: f"/usr/bin/{name}")
    assert found.argv[-1] == "--enable-managedby-label"


# ------------------------------------------------------------------ policy regexes

SAFE = st.sampled_from(
    [r"^prod-", r"-\d+$", r"^(eu|us)-(west|east)-[0-9]{1,2}$", r"a.c", r"[^a-z-]", r"\bprod\b",
     r"(?i)PROD", r"^$", r"x*", r"(ab|a)*b", r"[a-c]{2,3}z", r"prod|stag", r"\w+-\w+",
     r"^[a-z]+(-[a-z0-9]+)*$", r"e?u", r"(a|b)+?c", r"\s", r"\D\W"]
)  # fmt: skip


@settings(max_examples=examples(300), deadline=None)
@given(pattern=SAFE, text=st.text(alphabet="abcdeprodstagzuw-019 _\n", max_size=30))
def test_linear_matcher_agrees_with_re(pattern: str, text: str) -> None:
    assert saferegex.search(pattern, text) == (re.search(pattern, text) is not None)


def test_catastrophic_patterns_run_in_linear_time() -> None:
    # Python's backtracking `re` would take 2**63 steps on these; the automaton does not.
    for pattern in (r"^(a+)+$", r"^(a|a)*$", r"(a*)*b", r"^(\w+\s?)+$"):
        assert not saferegex.search(pattern, "a" * 63 + "!")


@pytest.mark.parametrize("pattern", [r"(a)\1", r"(?=a)", r"(?<!a)b", r"a++", r"(?>a)", "x" * 1001])
def test_patterns_that_need_backtracking_are_refused(pattern: str) -> None:
    with pytest.raises(ValueError, match=r"not supported|longer than"):
        saferegex.compile_pattern(pattern)


def test_a_policy_with_a_backreference_is_bad_input(tmp_path: Path) -> None:
    from planner.policy import load_policy

    text = (
        "waves:\n  - name: all\n    selector: {}\n"
        "identity:\n  rules:\n  - name_matches: '(a)\\1'\n    require: {region: x}\n"
    )
    with pytest.raises(UserError, match="name_matches"):
        load_policy(text.encode(), source="rollout.yaml")


# ------------------------------------------------------------------------- sizes


def test_changed_files_are_capped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(opt, "MAX_CHANGED_FILES", 100)
    big = tmp_path / "changed.txt"
    big.write_text("base/x.yaml\n" * 20)
    with pytest.raises(UserError, match="larger than"):
        opt.read_changed_files(str(big))


def test_huge_values_are_cut_in_error_lines() -> None:
    value = "v" * (64 * 1024 * 1024)
    problem = Problem(f"label value {value!r} is invalid", file="clusters.yaml", key=value)
    line = str(problem)
    assert len(line) < 5000
    assert f"({len(value)} characters)" in line


def test_a_huge_label_value_is_reported_in_a_short_line(tmp_path: Path) -> None:
    inventory = tmp_path / "clusters.yaml"
    value = "x" * (8 * 1024 * 1024)
    inventory.write_text(
        "clusters:\n  - name: a\n    server: https://a.example.com\n"
        f"    labels: {{environment: dev, region: {value}}}\n"
    )
    result = CliRunner().invoke(app, ["validate", "--inventory", str(inventory)])
    assert result.exit_code == 2
    assert max(len(line) for line in result.output.splitlines()) < 5000


@pytest.mark.parametrize("text", ["99999999999d", "3651d", "87600h1s"])
def test_durations_past_ten_years_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match="limit"):
        duration_seconds(text)


# -------------------------------------------------------------------------- the lock


def test_the_lock_is_exclusive_and_released(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    with lock.hold(waves, "first"):
        holder = lock.read_holder(lock.lock_path(waves))
        assert holder is not None
        assert (holder.command, holder.pid, holder.host) == ("first", os.getpid(),
                                                             socket.gethostname())  # fmt: skip
        with (
            pytest.raises(Refusal, match=r"locked by first since .* \(pid \d+, host "),
            lock.hold(waves, "second", wait=0),
        ):
            pass
        assert (waves / ".wave-planner" / ".gitignore").read_text().endswith("*\n")
    assert not waves.exists()  # created for the command, empty again: tidied away


def test_an_unreadable_lock_is_held_by_an_unknown_command(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    lock.private_dir(waves)
    lock.lock_path(waves).write_text("{not json")
    with (
        pytest.raises(Refusal, match="locked by an unknown command"),
        lock.hold(waves, "second", wait=0),
    ):
        pass
    assert lock.lock_path(waves).exists()


def test_a_lock_of_another_host_is_never_called_stale(tmp_path: Path) -> None:
    waves = tmp_path / "waves"
    lock.private_dir(waves)
    holder = {"command": "advance", "since": "x", "pid": 999999, "host": "elsewhere"}
    lock.lock_path(waves).write_text(json.dumps(holder))
    with (
        pytest.raises(Refusal, match="locked by advance since x"),
        lock.hold(waves, "second", wait=0),
    ):
        pass


def test_lock_wait_must_be_a_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(lock.WAIT_VARIABLE, "soon")
    with pytest.raises(UserError, match=lock.WAIT_VARIABLE):
        lock.wait_seconds()
