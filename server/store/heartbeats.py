"""Declared pipeline stages and their last heartbeat. A beat also (re)declares the stage's
cadence and upstream: the newest declaration wins."""

from __future__ import annotations

from typing import Any

from server.sentinel.heartbeats import Heartbeat
from server.store import db as store

_COLUMNS = "source, interval_s, after, declared_at, last_beat_at, beats"


def beat(source: str, interval_s: float, after: str | None, now: float) -> dict[str, Any]:
    """Record a beat of `source` (declaring it on its first beat) and return its row."""
    with store.write_transaction():
        store.execute(
            f"INSERT INTO heartbeats ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (source) DO UPDATE SET"
            " interval_s = excluded.interval_s, after = excluded.after, last_beat_at = excluded.last_beat_at,"
            " beats = heartbeats.beats + 1",
            (source, interval_s, after, now, now),
        )
        row = store.fetchone(f"SELECT {_COLUMNS} FROM heartbeats WHERE source = ?", (source,))
    return dict(zip(_COLUMNS.split(", "), row, strict=True))


def list_heartbeats() -> list[Heartbeat]:
    return [Heartbeat(source, interval, after, last) for source, interval, after, last in store.fetchall(
        "SELECT source, interval_s, after, last_beat_at FROM heartbeats ORDER BY source")]


def heartbeat_rows() -> list[dict[str, Any]]:
    """Every declared source as stored, for the surfaces."""
    return [dict(zip(_COLUMNS.split(", "), row, strict=True))
            for row in store.fetchall(f"SELECT {_COLUMNS} FROM heartbeats ORDER BY source")]
