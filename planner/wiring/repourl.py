"""Repository URLs written into emitted manifests: which one, in which form, and whether safe.

The URL comes from the policy (`argocd.repoURL`, `flux.url`), else from the repository's
`origin` remote. An scp-style remote (`git@host:owner/repo.git`) becomes the equivalent
`ssh://git@host/owner/repo.git`, the form both Argo CD and Flux accept. A URL is only
accepted when it is http(s) or ssh and holds nothing that could break out of YAML or be
read as template syntax (`{{`), because it is written verbatim into an ApplicationSet
template. Pure.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from planner.errors import Problem, UserError

SCHEMES = ("https", "http", "ssh")
_SCP = re.compile(r"^(?:(?P<user>[A-Za-z0-9._-]+)@)?(?P<host>[A-Za-z0-9.-]+):(?P<path>[^/].*)$")
_FORBIDDEN = set("{}\"'`<>\\|^")


def normalize_remote(url: str) -> str:
    """An scp-style remote as an ssh:// URL; any other URL unchanged (trimmed)."""
    text = url.strip()
    if "://" in text:
        return text
    match = _SCP.match(text)
    if match is None:
        return text
    user = f"{match['user']}@" if match["user"] else ""
    return f"ssh://{user}{match['host']}/{match['path']}"


def check_repo_url(url: str) -> str:
    """The URL if it is safe to emit, else ValueError saying why."""
    if any(ch.isspace() or ch in _FORBIDDEN or ord(ch) < 32 for ch in url):
        raise ValueError(
            f"repository URL {url!r} contains whitespace, quotes, braces or other characters "
            "not allowed in a URL"
        )
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or not parts.hostname:
        raise ValueError(
            f"repository URL {url!r} is not an https://, http:// or ssh:// URL "
            "(scp-style git@host:owner/repo.git is accepted too)"
        )
    return url


def check_policy_url(url: str | None) -> str | None:
    """Validator for the policy's URL fields (scp-style allowed; it is normalised on use)."""
    if url is None:
        return None
    check_repo_url(normalize_remote(url))
    return url


def resolve_repo_url(configured: str | None, origin: str | None, *, setting: str) -> str:
    """The URL to emit: the policy's `setting`, else `origin`, else a UserError saying how."""
    if configured:
        chosen, source = normalize_remote(configured), f"policy {setting}"
    elif origin:
        chosen, source = normalize_remote(origin), "the origin remote"
    else:
        raise UserError(
            Problem(
                "no repository URL to write into the manifests: the policy sets none and the "
                "repository has no `origin` remote",
                key=setting,
                fix=f"set `{setting}: https://...` in the policy, or "
                "`git remote add origin https://...` in the repository",
            )
        )
    try:
        return check_repo_url(chosen)
    except ValueError as exc:
        raise UserError(
            Problem(
                f"{exc} (from {source})",
                key=setting,
                fix=f"set `{setting}: https://...` (or ssh://) in the policy",
            )
        ) from None


def is_network_url(url: str) -> bool:
    """True for a remote a GitOps controller could fetch (http(s), ssh, git, scp-style)."""
    parts = urlsplit(normalize_remote(url))
    return parts.scheme in (*SCHEMES, "git") and bool(parts.hostname)
