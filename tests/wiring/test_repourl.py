"""Repository URLs for emitted manifests: policy first, else origin; scp becomes ssh://."""

from __future__ import annotations

import pytest

from planner.errors import UserError
from planner.wiring.repourl import (
    check_policy_url,
    check_repo_url,
    is_network_url,
    normalize_remote,
    resolve_repo_url,
)


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("git@github.com:example/fleet.git", "ssh://git@github.com/example/fleet.git"),
        ("github.com:example/fleet", "ssh://github.com/example/fleet"),
        ("  https://github.com/example/fleet.git\n", "https://github.com/example/fleet.git"),
        ("ssh://git@host:2222/o/r.git", "ssh://git@host:2222/o/r.git"),
        ("/srv/git/fleet", "/srv/git/fleet"),
    ],
)
def test_normalize_remote(remote: str, expected: str) -> None:
    assert normalize_remote(remote) == expected


@pytest.mark.parametrize(
    "url",
    [
        "/srv/git/fleet",
        "file:///srv/git/fleet",
        "https://example.com/{{.cluster}}",
        "https://example.com/a b",
        "https://example.com/a'b",
        "https://example.com/a\nkind: Secret",
        "https://",
    ],
)
def test_unsafe_or_unusable_urls_are_rejected(url: str) -> None:
    with pytest.raises(ValueError, match="repository URL"):
        check_repo_url(url)


def test_policy_urls_may_be_scp_style() -> None:
    assert check_policy_url("git@github.com:o/r.git") == "git@github.com:o/r.git"
    assert check_policy_url(None) is None


def test_policy_wins_over_origin() -> None:
    got = resolve_repo_url("git@h.example.com:o/r.git", "https://o.example.com/x", setting="s")
    assert got == "ssh://git@h.example.com/o/r.git"
    assert resolve_repo_url(None, "https://o.example.com/x", setting="s") == (
        "https://o.example.com/x"
    )


def test_no_url_says_how_to_set_one() -> None:
    with pytest.raises(UserError) as caught:
        resolve_repo_url(None, None, setting="flux.url")
    problem = caught.value.problems[0]
    assert problem.key == "flux.url"
    assert problem.fix is not None
    assert "git remote add origin" in problem.fix


def test_an_unusable_origin_is_an_input_error() -> None:
    with pytest.raises(UserError, match="from the origin remote"):
        resolve_repo_url(None, "/srv/git/fleet", setting="argocd.repoURL")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://github.com/o/r.git", True),
        ("git@github.com:o/r.git", True),
        ("ssh://git@host/o/r", True),
        ("/data/mirrors/o+r/repo", False),
        ("file:///srv/git/fleet.git", False),
        ("../fleet.git", False),
    ],
)
def test_network_urls(url: str, expected: bool) -> None:
    assert is_network_url(url) is expected
