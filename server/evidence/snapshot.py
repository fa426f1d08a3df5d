"""The snapshot envelope every evidence kind shares: version, capture status and reason, caps.

A snapshot is a plain JSON-able dict. `status` is `ok`, `partial` (and `status_reason`
says what is incomplete) or `missing` (and `status_reason` says why): a snapshot is
never silently empty. Lists are capped; `<name>_left_out` counts what a cap dropped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

SNAPSHOT_VERSION = 1
KINDS = ("propagation", "blast", "change", "alerts", "similar")
OPENING, LATEST = "opening", "latest"  # captured when the incident opened / refreshed every tick
OK, PARTIAL, MISSING = "ok", "partial", "missing"
STATUSES = (OK, PARTIAL, MISSING)

T = TypeVar("T")


def snapshot(status: str, reason: str | None = None, **content: Any) -> dict[str, Any]:
    """A snapshot with its capture status; `reason` is required unless the status is ok."""
    assert status in STATUSES
    assert status == OK or reason, "a partial or missing snapshot says why"
    return {"version": SNAPSHOT_VERSION, "status": status, "status_reason": reason, **content}


def missing(reason: str, **content: Any) -> dict[str, Any]:
    return snapshot(MISSING, reason, **content)


def capped(items: Sequence[T], limit: int) -> tuple[list[T], int]:
    """The first `limit` items and how many were left out."""
    return list(items[:limit]), max(0, len(items) - limit)


def worst(*statuses: str) -> str:
    """The least complete of several statuses."""
    return max(statuses, key=STATUSES.index)


def rate(failed: int, total: int) -> float | None:
    """An error rate rounded to 4 places (stable across backends), None without traffic."""
    return round(failed / total, 4) if total else None
