"""Opening a repository: found from its folder or one inside it, bare or not, with its
configuration read as git reads it."""

from __future__ import annotations

from pathlib import Path

import pytest

from planner.adapters import gitrepo
from planner.errors import UserError
from tests.testing.smallrepo import committed, git


def test_a_folder_inside_the_work_tree_opens_the_repository_with_its_prefix(
    tmp_path: Path,
) -> None:
    root = committed(tmp_path / "repo", ["fleet/clusters.yaml", "a.txt"])
    repo = gitrepo.GitRepo(root / "fleet")
    try:
        assert repo.work_tree == root.resolve()
        assert repo.git_dir == (root / ".git").resolve()
        assert repo.prefix == "fleet"
        assert list(repo.snapshot(repo.head_sha()).files()) == ["clusters.yaml"]
    finally:
        repo.close()


def test_a_bare_repository_has_no_work_tree(tmp_path: Path) -> None:
    root = committed(tmp_path / "repo", ["a.txt"])
    git(tmp_path, "clone", "-q", "--bare", str(root), "bare.git")
    repo = gitrepo.GitRepo(tmp_path / "bare.git")
    try:
        assert repo.work_tree is None
        assert repo.git_dir == (tmp_path / "bare.git").resolve()
        assert repo.prefix == ""
        assert list(repo.snapshot(repo.resolve("main", "--head")).files()) == ["a.txt"]
    finally:
        repo.close()


def test_a_plain_folder_is_not_a_repository(tmp_path: Path) -> None:
    (tmp_path / "plain").mkdir()
    with pytest.raises(UserError, match="is not a git repository"):
        gitrepo.GitRepo(tmp_path / "plain")
    with pytest.raises(UserError, match="does not exist"):
        gitrepo.GitRepo(tmp_path / "nowhere")


def test_origin_and_user_name_come_from_the_configuration(tmp_path: Path) -> None:
    root = committed(tmp_path / "repo", ["a.txt"])
    repo = gitrepo.GitRepo(root)
    try:
        assert repo.origin_url() is None
        assert repo.user_name() == "t"
        git(root, "remote", "add", "origin", "https://example.com/fleet.git")
        git(root, "config", "user.name", "Release Manager")
        assert repo.origin_url() == "https://example.com/fleet.git"
        assert repo.user_name() == "Release Manager"
    finally:
        repo.close()
