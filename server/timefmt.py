"""Timestamps: stored as float epoch seconds, shown as RFC 3339 UTC with milliseconds."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    moment = datetime.fromtimestamp(ts, UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(value: object) -> float:
    """Epoch seconds from a number (seconds) or an RFC 3339 string; ValueError otherwise.

    A string without an offset is taken as UTC.
    """
    if isinstance(value, bool):
        raise ValueError("must be a timestamp")
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")) or value < 0:
            raise ValueError("must be a finite, non-negative number of seconds")
        return float(value)
    if isinstance(value, str) and 0 < len(value) <= 64:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValueError("must be an RFC 3339 timestamp or epoch seconds") from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.timestamp()
    raise ValueError("must be an RFC 3339 timestamp or epoch seconds")


def duration(seconds: float) -> str:
    """`45s`, `12m`, `3h 5m`, `2d 4h`: a short, rounded length of time."""
    seconds = abs(seconds)
    if seconds < 120:
        return f"{seconds:.0f}s"
    minutes = round(seconds / 60)
    if minutes < 120:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m" if minutes else f"{hours}h"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h" if hours else f"{days}d"


def relative_to_onset(offset_seconds: float) -> str:
    """`3m before the onset` / `at the onset` / `40s after the onset`."""
    if abs(offset_seconds) < 0.5:
        return "at the onset"
    return f"{duration(offset_seconds)} {'before' if offset_seconds < 0 else 'after'} the onset"
