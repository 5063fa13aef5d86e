"""Globs: gitignore rules (`.sourceignore`, the policy's `ignore:`) and whole-path globs."""

from __future__ import annotations

import pytest

from planner.globs import IgnoreRules, PathGlob, glob_match, ignored


@pytest.mark.parametrize(
    ("rules", "path", "is_dir", "expected"),
    [
        # a pattern without a slash matches a name at any depth
        ("*.md", "README.md", False, True),
        ("*.md", "apps/x/README.md", False, True),
        ("*.md", "apps/x/README.txt", False, False),
        ("LICENSE*", "vendor/LICENSE-MIT", False, True),
        # a matched folder takes everything below it
        ("docs", "docs/a/b.yaml", False, True),
        ("*.yaml", "x.yaml/inner.txt", False, True),
        # a slash anchors at the root
        ("docs/**", "docs/a/b.yaml", False, True),
        ("docs/**", "apps/docs/b.yaml", False, False),
        ("/apps/", "apps", True, True),
        ("/apps/", "other/apps", True, False),
        ("apps/*.yaml", "apps/a.yaml", False, True),
        ("apps/*.yaml", "other/apps/a.yaml", False, False),
        ("apps/*", "apps/a/b.yaml", False, True),
        # a trailing slash: folders only
        ("tmp/", "tmp", False, False),
        ("tmp/", "tmp", True, True),
        ("tmp/", "a/tmp/file", False, True),
        # ** spans folders, and matches none
        ("**/c.yaml", "c.yaml", False, True),
        ("**/c.yaml", "a/b/c.yaml", False, True),
        ("a/**/b", "a/b", False, True),
        ("a/**/b", "a/x/y/b", False, True),
        ("a/**/b", "x/a/b", False, False),
        ("a/**", "a/x/y", False, True),
        # * and ? stay within a name; classes
        ("a/*/c", "a/x/y/c", False, False),
        ("v?.yaml", "v1.yaml", False, True),
        ("v?.yaml", "v10.yaml", False, False),
        ("v[0-9].yaml", "v7.yaml", False, True),
        ("v[!0-9].yaml", "v7.yaml", False, False),
        # negation: the last matching rule decides
        ("*.yaml\n!keep.yaml", "apps/keep.yaml", False, False),
        ("*.yaml\n!keep.yaml", "apps/other.yaml", False, True),
        ("!keep.yaml\n*.yaml", "apps/keep.yaml", False, True),
        # comments, blank lines and escapes
        ("# *.yaml\n\n", "a.yaml", False, False),
        ("\\#notes", "#notes", False, True),
        ("", "anything", False, False),
    ],
)
def test_ignore_rules(rules: str, path: str, is_dir: bool, expected: bool) -> None:
    assert IgnoreRules(rules.splitlines()).ignored(path, is_dir=is_dir) is expected


def test_ignored_takes_any_iterable_of_patterns() -> None:
    assert ignored("docs/a.md", ["*.txt", "docs/**"])
    assert ignored("docs/a.md", iter(["docs/**"]))
    assert not ignored("apps/a.yaml", ("*.md", "docs/**"))


@pytest.mark.parametrize(
    ("pattern", "path", "expected"),
    [
        # Argo CD git generator paths
        ("apps/*", "apps/web", True),
        ("apps/*", "apps/web/x", False),
        ("apps/**", "apps/web/x", True),
        ("apps/**/prod", "apps/prod", True),
        ("apps/**/prod", "apps/a/b/prod", True),
        ("apps/[wa]*", "apps/web", True),
        ("apps/[!wa]*", "apps/web", False),
        ("apps/?eb", "apps/web", True),
        # scope patterns and others
        ("apps/*", "apps/a", True),
        ("apps/*", "apps/a/b", False),
        ("apps/*", "apps", False),
        ("/apps/*/", "apps/a", True),
        ("apps/**", "apps/a/b", True),
        ("apps/**/base", "apps/base", True),
        ("apps/**/base", "apps/a/b/base", True),
        ("**/base", "base", True),
        ("**/base", "x/base", True),
        ("env-?", "env-1", True),
        ("env-?", "env-10", False),
        ("env-[ab]", "env-a", True),
        ("env-[!ab]", "env-a", False),
        ("env-[!ab]", "env-c", True),
        ("env-[", "env-[", True),
        ("a.b", "axb", False),
        ("clusters/*", "clusters/x.y", True),
    ],
)
def test_path_glob(pattern: str, path: str, expected: bool) -> None:
    assert glob_match(pattern, path) is expected
    assert PathGlob(pattern).matches(path) is expected


def test_path_glob_depth() -> None:
    assert PathGlob("base").depth == 1
    assert PathGlob("/environments/*/").depth == 2
    assert PathGlob("apps/**/base").depth == 3
