"""Path globs, in the two dialects the planner reads.

- **gitignore** (`IgnoreRules`): Flux `.sourceignore` and the policy's `ignore:` list. A
  pattern without a slash matches a name at any depth, a leading or inner slash anchors it
  at the root, a trailing slash matches folders only, `**` spans folders, `!` re-includes,
  and the last matching pattern decides. Matching is `pathspec`'s, the ecosystem's
  implementation of git's rules, so the planner agrees with Flux and git on every corner.
- **path globs** (`PathGlob`): a pattern over a whole repository path, anchored at the root
  and matching it entirely: `*`, `?` and `[...]` (`[!...]` negated) within one folder name,
  a `**` component for any number of folders. Argo CD's git generator paths, the policy's
  `scopes:` patterns (matched against a path's leading folders) and the guardrail's walk for
  cluster folders read patterns this way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache


class IgnoreRules:
    """gitignore rules, in order (later rules override earlier ones)."""

    def __init__(self, lines: Iterable[str]) -> None:
        import pathspec  # on first use: most commands never read an ignore rule

        self._spec = pathspec.GitIgnoreSpec.from_lines(lines)

    def ignored(self, path: str, *, is_dir: bool = False) -> bool:
        """Whether a repository-relative path (a folder when `is_dir`) is ignored."""
        return self._spec.match_file(path + "/" if is_dir else path)


@lru_cache(maxsize=256)
def ignore_rules(lines: tuple[str, ...]) -> IgnoreRules:
    """`IgnoreRules` of a fixed list of patterns, compiled once."""
    return IgnoreRules(lines)


def ignored(path: str, patterns: Iterable[str]) -> bool:
    """Whether gitignore `patterns` ignore the file at `path`."""
    return ignore_rules(tuple(patterns)).ignored(path)


class PathGlob:
    """A glob over a whole repository path (see the module docstring)."""

    def __init__(self, pattern: str) -> None:
        self.pattern = pattern.strip().strip("/")
        self._regex = re.compile(_path_regex(self.pattern))

    @property
    def depth(self) -> int:
        """How many folder names the pattern spans (a `**` counts as one)."""
        return len(self.pattern.split("/"))

    def matches(self, path: str) -> bool:
        return self._regex.fullmatch(path) is not None


@lru_cache(maxsize=1024)
def path_glob(pattern: str) -> PathGlob:
    """`PathGlob` of a pattern, compiled once."""
    return PathGlob(pattern)


def glob_match(pattern: str, path: str) -> bool:
    """Whether the path glob `pattern` matches the whole of `path`."""
    return path_glob(pattern).matches(path)


def _path_regex(pattern: str) -> str:
    parts = []
    for segment in pattern.split("/"):
        if segment == "**":
            parts.append("(?:.*)")
            continue
        out, i = [], 0
        while i < len(segment):
            char = segment[i]
            if char == "*":
                out.append("[^/]*")
            elif char == "?":
                out.append("[^/]")
            elif char == "[" and "]" in segment[i + 1 :]:
                end = segment.index("]", i + 1)
                body = segment[i + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = end
            else:
                out.append(re.escape(char))
            i += 1
        parts.append("".join(out))
    return "/".join(parts).replace("(?:.*)/", "(?:.*/)?")
