"""Bounded deletes for retention: each call removes at most `batch` rows in one short write
transaction, so that ingest never waits long for the (SQLite) write lock.

Each function returns how many rows it deleted and whether anything past the cutoff is
left (`more`): the janitor calls it again until nothing is, or until its run's budget ends.
"""

from __future__ import annotations

from dataclasses import dataclass

from server.store import db as store


@dataclass(frozen=True)
class Batch:
    deleted: int
    more: bool


def prune_events(cutoff: float, start_id: int | None, batch: int) -> tuple[Batch, int | None]:
    """Delete the events with ids in [start, start + batch) that happened and arrived before
    `cutoff`; returns the batch and the id to start the next one from (None: done).

    Events carry no index on time (ingest pays for none), but ids grow with arrival: walking
    id ranges from the oldest reaches every old row through the primary key alone, and stops
    at the first range that holds an event that arrived after the cutoff.
    """
    start = start_id if start_id is not None else store.fetchone("SELECT MIN(id) FROM events")[0]
    if start is None:
        return Batch(0, False), None
    end = start + batch
    with store.write_transaction():
        cursor = store.execute("DELETE FROM events WHERE id >= ? AND id < ? AND received_at < ? AND ts < ?",
                               (start, end, cutoff, cutoff))
    deleted = max(cursor.rowcount, 0)
    if store.fetchone("SELECT 1 FROM events WHERE id >= ? AND id < ? AND received_at >= ? LIMIT 1",
                      (start, end, cutoff)):
        return Batch(deleted, False), None
    following = store.fetchone("SELECT MIN(id) FROM events WHERE id >= ?", (end,))[0]
    return Batch(deleted, following is not None), following


def prune_buckets(table: str, cutoff: float, batch: int) -> Batch:
    """Delete about `batch` rows of a per-bucket counter table (`event_counts`,
    `duration_counts`) whose bucket is before `cutoff`, oldest first (by its bucket index)."""
    bound_row = store.fetchone(f"SELECT bucket FROM {table} WHERE bucket < ? ORDER BY bucket LIMIT 1 OFFSET ?",
                               (cutoff, batch))
    bound = cutoff if bound_row is None else bound_row[0]
    with store.write_transaction():
        cursor = store.execute(f"DELETE FROM {table} WHERE bucket < ?", (bound,))
        deleted = max(cursor.rowcount, 0)
        if deleted == 0 and bound_row is not None:
            # More than `batch` rows share the oldest bucket: take that one bucket whole.
            deleted = max(store.execute(f"DELETE FROM {table} WHERE bucket = ?", (bound,)).rowcount, 0)
    return Batch(deleted, bound_row is not None)


def prune_signals(cutoff: float, batch: int) -> Batch:
    """Delete up to `batch` signals that happened and arrived before `cutoff` (by their time index)."""
    with store.write_transaction():
        cursor = store.execute(
            "DELETE FROM signals WHERE id IN (SELECT id FROM signals WHERE ts < ? AND received_at < ?"
            " ORDER BY ts LIMIT ?)", (cutoff, cutoff, batch))
    deleted = max(cursor.rowcount, 0)
    return Batch(deleted, deleted >= batch)


def prune_resolved_incidents(cutoff: float, batch: int) -> Batch:
    """Delete up to `batch` incidents resolved before `cutoff`, with their families, transitions,
    evidence and alert links (ON DELETE CASCADE) and their finished notifications. Active and
    recovering incidents are never touched: the state is checked again in the DELETE itself."""
    ids = [row[0] for row in store.fetchall(
        "SELECT id FROM incidents WHERE state = 'resolved' AND resolved_at < ? ORDER BY resolved_at, id LIMIT ?",
        (cutoff, batch))]
    if not ids:
        return Batch(0, False)
    marks = ", ".join("?" * len(ids))
    with store.write_transaction():
        if store.db.table_exists("notifications"):
            store.execute(f"DELETE FROM notifications WHERE subject_id IN ({marks})"
                          " AND state IN ('delivered', 'failed')", ids)
        cursor = store.execute(f"DELETE FROM incidents WHERE id IN ({marks}) AND state = 'resolved'"
                               " AND resolved_at < ?", (*ids, cutoff))
    return Batch(max(cursor.rowcount, 0), len(ids) >= batch)


def bucket_tables() -> list[str]:
    """The per-bucket counter tables this database has."""
    return [t for t in ("event_counts", "duration_counts") if store.db.table_exists(t)]
