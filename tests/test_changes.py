"""Change sets: changed-file lists and ignore globs."""

from __future__ import annotations

import pytest

from planner.changes import Change, ChangeSet, ChangeStatus, parse_changed_files
from planner.errors import UserError
from planner.globs import ignored


def test_plain_and_name_status_lines() -> None:
    changes = parse_changed_files(
        "base/a.yaml\nM\tb.yaml\nD\tgone.yaml\nR095\told.yaml\tnew.yaml\n# comment\n\n",
        source="-",
    )
    assert changes.files() == ["b.yaml", "base/a.yaml", "gone.yaml", "new.yaml", "old.yaml"]
    renamed = next(c for c in changes.changes if c.status == ChangeStatus.RENAMED)
    assert renamed.old_path == "old.yaml"
    assert changes.structural()


def test_paths_are_normalized() -> None:
    assert parse_changed_files("./a/../b/c.yaml\n", source="-").files() == ["b/c.yaml"]


@pytest.mark.parametrize("line", ["../escape.yaml", "/etc/passwd"])
def test_paths_outside_the_repository_are_user_errors(line: str) -> None:
    with pytest.raises(UserError, match="not a path inside the repository"):
        parse_changed_files(line + "\n", source="changed.txt")


def test_mode_only_changes_are_not_content() -> None:
    changes = ChangeSet(
        changes=(
            Change(path="a.yaml", status=ChangeStatus.MODE_ONLY),
            Change(path="b.yaml", status=ChangeStatus.MODIFIED),
        )
    )
    assert changes.files() == ["a.yaml", "b.yaml"]
    assert changes.content_paths() == ["b.yaml"]
    assert not changes.structural()


@pytest.mark.parametrize(
    ("path", "pattern", "expected"),
    [
        ("README.md", "*.md", True),
        ("apps/x/README.md", "*.md", True),
        ("docs/a/b.yaml", "docs/**", True),
        ("apps/docs/b.yaml", "docs/**", False),
        (".github/workflows/ci.yml", ".github/**", True),
        ("a/b/c.yaml", "**/c.yaml", True),
        ("c.yaml", "**/c.yaml", True),
        ("base/kustomization.yaml", "*.md", False),
    ],
)
def test_ignore_globs(path: str, pattern: str, expected: bool) -> None:
    assert ignored(path, [pattern]) is expected


@pytest.mark.parametrize(
    ("path", "patterns", "expected"),
    [
        # gitignore rules: a folder pattern takes what is below it
        ("docs/a/b.yaml", ["docs"], True),
        ("notes/a/b.yaml", ["notes/"], True),
        ("docs/a/b.yaml", ["docs/*"], True),
        # negation re-includes
        ("docs/keep.yaml", ["docs/**", "!docs/keep.yaml"], False),
        ("docs/drop.yaml", ["docs/**", "!docs/keep.yaml"], True),
        # classes
        ("OWNERS_ALIASES", ["OWNERS[_-]*"], True),
    ],
)
def test_ignore_globs_follow_gitignore(path: str, patterns: list[str], expected: bool) -> None:
    assert ignored(path, patterns) is expected
