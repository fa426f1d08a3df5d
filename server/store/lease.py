"""The engine lease: one row that says which engine may tick, until when.

Only the holder of an unexpired lease ticks; every tick renews it inside the tick's own
write transaction, so an engine that lost the lease cannot commit a stale tick.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.store import db as store

_ADVISORY_KEY = 727002


@dataclass(frozen=True)
class LeaseState:
    holder: str | None
    acquired_at: float | None
    expires_at: float | None
    last_tick_at: float | None
    last_tick_ms: float | None
    ticks: int


def try_acquire(holder: str, now: float, ttl: float) -> bool:
    """Take or extend the lease for `holder`; True when `holder` holds it afterwards."""
    with store.write_transaction():
        cursor = store.execute(
            "UPDATE engine_lease SET acquired_at = CASE WHEN holder = ? THEN acquired_at ELSE ? END,"
            " holder = ?, expires_at = ?"
            " WHERE name = 'engine' AND (holder IS NULL OR holder = ? OR expires_at < ?)",
            (holder, now, holder, now + ttl, holder, now),
        )
    return cursor.rowcount == 1


def renew_for_tick(holder: str, now: float, ttl: float, tick_ms: float) -> bool:
    """Record a finished tick and extend the lease. Call inside the tick's transaction; False
    means the lease was lost and the transaction must be rolled back."""
    cursor = store.execute(
        "UPDATE engine_lease SET expires_at = ?, last_tick_at = ?, last_tick_ms = ?, ticks = ticks + 1"
        " WHERE name = 'engine' AND holder = ? AND expires_at >= ?",
        (now + ttl, now, tick_ms, holder, now),
    )
    return cursor.rowcount == 1


def release(holder: str) -> None:
    with store.write_transaction():
        store.execute(
            "UPDATE engine_lease SET holder = NULL, expires_at = NULL WHERE name = 'engine' AND holder = ?",
            (holder,),
        )


def state() -> LeaseState:
    row = store.fetchone(
        "SELECT holder, acquired_at, expires_at, last_tick_at, last_tick_ms, ticks FROM engine_lease"
        " WHERE name = 'engine'"
    )
    return LeaseState(*row) if row else LeaseState(None, None, None, None, None, 0)


def try_advisory_lock() -> bool:
    """PostgreSQL only: a session lock on this thread's connection, released if it dies."""
    return bool(store.fetchone("SELECT pg_try_advisory_lock(?)", (_ADVISORY_KEY,))[0])


def advisory_unlock() -> None:
    store.fetchone("SELECT pg_advisory_unlock(?)", (_ADVISORY_KEY,))
