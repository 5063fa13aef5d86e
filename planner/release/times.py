"""Times and durations of the rollout state: UTC ISO 8601 strings, waits in words."""

from __future__ import annotations

from datetime import UTC, datetime

MIN_YEAR, MAX_YEAR = 1970, 9000  # with bakes of at most 10 years, no date overflows


def parse_time(text: str) -> datetime:
    """An ISO 8601 time; a time without an offset is UTC. Returned in UTC."""
    try:
        value = datetime.fromisoformat(text.strip().replace("z", "Z"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO 8601 time like 2024-01-02T10:00:00Z") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    value = value.astimezone(UTC)
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(
            f"{text.strip()[:64]!r} is out of range: times are between {MIN_YEAR} and {MAX_YEAR}"
        )
    return value


def format_time(value: datetime) -> str:
    """UTC, to the second, with a `Z`: `2024-01-02T10:00:00Z`."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).replace(microsecond=0).strftime("%Y-%m-%dT%H:%M:%SZ")


def format_duration(seconds: int) -> str:
    """`1h 5m`, `42m 10s`, `30s`: how long someone has to wait, rounded up to the second."""
    seconds = max(0, seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days}d"] if days else []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts[:2])
