"""The git adapter's process layer: the safe environment, the object reader, ancestry."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from planner.adapters import gitrepo
from planner.adapters.gitrepo.process import ObjectReader, Where, read_object, safe_env


def _repo(tmp_path: Path) -> tuple[Path, str, str]:
    root = tmp_path / "repo"
    root.mkdir()
    env = {"GIT_AUTHOR_DATE": "2024-01-01T00:00:00+00:00"}
    env["GIT_COMMITTER_DATE"] = env["GIT_AUTHOR_DATE"]
    ident = ("-c", "user.name=A", "-c", "user.email=a@example.com")

    def git(*args: str) -> str:
        proc = gitrepo.call(root, *ident, *args, env=env, isolated=True)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.decode().strip()

    git("init", "-q", "-b", "main")
    (root / "a.txt").write_text("one\n")
    git("add", "-A")
    git("commit", "-q", "-m", "first")
    first = git("rev-parse", "HEAD")
    (root / "a.txt").write_text("two\n")
    git("commit", "-q", "-am", "second")
    return root, first, git("rev-parse", "HEAD")


def test_isolated_environment_drops_every_git_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GIT_AUTHOR_NAME", "someone")
    monkeypatch.setenv("GIT_CONFIG_PARAMETERS", "'core.pager'='less'")
    assert "GIT_AUTHOR_NAME" in safe_env()
    assert "GIT_CONFIG_PARAMETERS" not in safe_env()
    isolated = safe_env(isolated=True)
    assert "GIT_AUTHOR_NAME" not in isolated
    assert isolated["GIT_CONFIG_GLOBAL"] == os.devnull


def test_object_reader_reads_one_many_and_missing(tmp_path: Path) -> None:
    root, first, head = _repo(tmp_path)
    blob = gitrepo.run(root, "rev-parse", f"{first}:a.txt").decode().strip()
    other = gitrepo.run(root, "rev-parse", f"{head}:a.txt").decode().strip()
    reader = ObjectReader(Where(root))
    try:
        assert reader.read(blob) == b"one\n"
        assert reader.read("0" * 40) is None
        assert reader.read_many([blob, other, "0" * 40, blob]) == {blob: b"one\n", other: b"two\n"}
    finally:
        reader.close()


def test_read_object_parses_batch_output() -> None:
    import io

    stream = io.BytesIO(b"abc blob 3\nxyz\n" + b"def missing\n")
    assert read_object(stream) == b"xyz"
    assert read_object(stream) is None


def test_ancestry_and_config(tmp_path: Path) -> None:
    root, first, head = _repo(tmp_path)
    repo = gitrepo.GitRepo(root)
    try:
        assert repo.is_ancestor(first, head)
        assert not repo.is_ancestor(head, first)
        assert repo.resolve("HEAD", "--head") == head
    finally:
        repo.close()
    assert gitrepo.config_value(root, "remote.origin.url") is None
    gitrepo.run(root, "remote", "add", "origin", "https://example.com/fleet")
    assert gitrepo.config_value(root, "remote.origin.url") == "https://example.com/fleet"
