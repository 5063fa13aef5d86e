"""The one family of user errors.

Every mistake a user can fix (a bad inventory, an unknown policy key, a revision that does
not exist) is a `UserError` carrying one or more `Problem`s, each naming the file, the key and
the fix. Loaders collect every problem they find before raising, so a user sees them all at
once. The process exit codes are `ExitCode`; the CLI maps exceptions to them in exactly one
place (`planner.cli`): `UserError` is 2, `Refusal` 1, anything else escaping the core is a
bug (3).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from pydantic import BaseModel

M = TypeVar("M", bound="BaseModel")


class ExitCode(IntEnum):
    """The process exit codes of every command."""

    OK = 0
    VIOLATIONS = 1  # the plan has violations, `--check` found drift, a refusal
    BAD_INPUT = 2  # a UserError or a usage error: a message, no traceback
    BUG = 3  # an internal error: a traceback and a request to report it


MAX_SHOWN = 2000  # characters of one field of an error line
_LONG_WORD = re.compile(r"\S{120,}")


def cut(text: str) -> str:
    """A text fit for one error line: each huge word (a 64 MiB label value...) shortened to
    its start and its length, the whole bounded."""
    text = _LONG_WORD.sub(lambda m: f"{m.group()[:60]}...({len(m.group())} characters)", text)
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 3] + "..."


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the tool's input: where, what, and how to fix it."""

    message: str
    file: str | None = None
    key: str | None = None
    fix: str | None = None

    def __post_init__(self) -> None:
        for name in ("message", "file", "key", "fix"):
            value = getattr(self, name)
            if isinstance(value, str) and len(value) > MAX_SHOWN:
                object.__setattr__(self, name, cut(value))

    def __str__(self) -> str:
        where = ": ".join(part for part in (self.file, self.key) if part)
        text = f"{where}: {self.message}" if where else self.message
        return f"{text} (fix: {self.fix})" if self.fix else text


class UserError(Exception):
    """Bad input to the tool itself (exit code 2): never a traceback."""

    def __init__(self, problems: Problem | Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = (
            (problems,) if isinstance(problems, Problem) else tuple(problems)
        )
        if not self.problems:
            raise ValueError("UserError needs at least one problem")
        super().__init__("\n".join(str(p) for p in self.problems))

    @classmethod
    def single(
        cls,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> UserError:
        return cls(Problem(message, file=file, key=key, fix=fix))


class Refusal(Exception):
    """A request the tool understood but must refuse (exit code 1), e.g. a gate not yet open."""


class ProblemCollector:
    """Accumulates problems so a loader can report every one of them at once."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def add(
        self,
        message: str,
        *,
        file: str | None = None,
        key: str | None = None,
        fix: str | None = None,
    ) -> None:
        self.problems.append(Problem(message, file=file, key=key, fix=fix))

    def extend(self, problems: Iterable[Problem]) -> None:
        self.problems.extend(problems)

    def raise_if_any(self) -> None:
        if self.problems:
            raise UserError(self.problems)


def validate_model(model: type[M], data: Any, *, file: str, prefix: str = "") -> M:
    """Validate loaded YAML against a strict model, reporting every problem as a UserError.

    Validation runs in JSON mode, where YAML sequences are accepted for tuple fields while
    strings, numbers and booleans stay strictly typed.
    """
    from pydantic import ValidationError

    try:
        return model.model_validate_json(json.dumps(data, default=str))
    except ValidationError as exc:
        raise UserError(problems_from_validation(exc, file=file, prefix=prefix)) from None


def problems_from_validation(exc: Any, *, file: str | None, prefix: str = "") -> list[Problem]:
    """Turn a pydantic `ValidationError` into problems that name the file and the key."""
    return problems_from_errors(exc.errors(include_url=False), file=file, prefix=prefix)


def problems_from_errors(
    errors: Iterable[Mapping[str, Any]], *, file: str | None, prefix: str = ""
) -> list[Problem]:
    """Problems from pydantic error dicts (`loc`, `type`, `msg`)."""
    errors = list(errors)
    problems = []
    for err in errors:
        if _echo_of_item_errors(err, errors):
            continue
        key = prefix + _render_loc(err.get("loc", ()))
        kind = err.get("type", "")
        if kind == "extra_forbidden":
            message, fix = "unknown key", "remove it or check its spelling"
        elif kind == "missing":
            message, fix = "required key is missing", "add it"
        else:
            message, fix = str(err.get("msg", "invalid value")).removeprefix("Value error, "), None
            if kind in ("string_type", "int_type", "bool_type"):
                fix = "quote the value" if kind == "string_type" else None
        problems.append(Problem(message, file=file, key=key or None, fix=fix))
    return problems


def _echo_of_item_errors(err: Mapping[str, Any], errors: Iterable[Mapping[str, Any]]) -> bool:
    """pydantic adds `too_short` to a list whose items failed: noise next to the real errors."""
    if err.get("type") != "too_short":
        return False
    loc = tuple(err.get("loc", ()))
    return any(
        tuple(other.get("loc", ()))[: len(loc)] == loc and len(other.get("loc", ())) > len(loc)
        for other in errors
    )


def _render_loc(loc: Iterable[Any]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif str(part).startswith(("function-", "union[")) or str(part) in ("str", "int"):
            continue
        else:
            out += f".{part}" if out else str(part)
    return out
