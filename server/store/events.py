"""Events and their per-bucket counters: bulk insert, and the reads the engine needs."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import NamedTuple

import orjson
import peewee

from server.engine.model import Family, Span
from server.store import db as store


class EventRecord(NamedTuple):
    """A validated event in column order, ready for insert."""

    ts: float
    received_at: float
    service: str
    env: str
    version: str | None
    kind: str
    peer: str | None
    step: str
    status: str
    error_code: str | None
    duration_ms: float | None
    trace_id: str | None
    span_id: str | None
    parent_span_id: str | None
    user_id: str | None
    attributes: str | None  # JSON text


class Event(peewee.Model):
    ts = peewee.FloatField()
    received_at = peewee.FloatField()
    service = peewee.TextField()
    env = peewee.TextField()
    version = peewee.TextField(null=True)
    kind = peewee.TextField()
    peer = peewee.TextField(null=True)
    step = peewee.TextField()
    status = peewee.TextField()
    error_code = peewee.TextField(null=True)
    duration_ms = peewee.FloatField(null=True)
    trace_id = peewee.TextField(null=True)
    span_id = peewee.TextField(null=True)
    parent_span_id = peewee.TextField(null=True)
    user_id = peewee.TextField(null=True)
    attributes = peewee.TextField(null=True)

    class Meta:
        database = store.db
        table_name = "events"


_EVENT_ROW = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
_EVENTS_HEAD = (
    "INSERT INTO events (ts, received_at, service, env, version, kind, peer, step, status, error_code,"
    " duration_ms, trace_id, span_id, parent_span_id, user_id, attributes) VALUES "
)
_COUNT_ROW = "(?, ?, ?, ?, ?, ?, ?)"
_COUNTS_HEAD = "INSERT INTO event_counts (service, env, kind, step, error_code, bucket, n) VALUES "
_COUNTS_TAIL = (
    " ON CONFLICT (service, env, kind, step, error_code, bucket) DO UPDATE SET n = event_counts.n + excluded.n"
)
_INSERT_EVENTS = _EVENTS_HEAD + _EVENT_ROW
_UPSERT_COUNTS = _COUNTS_HEAD + _COUNT_ROW + _COUNTS_TAIL

# On SQLite, rows go in multi-row statements of a fixed size (the rest one by one): fewer
# statement executions for the same rows saves ~10% of the write transaction, and a fixed
# size keeps one statement text per table, prepared once, with at most 512 parameters.
_EVENT_CHUNK = 32
_COUNT_CHUNK = 16
_INSERT_EVENTS_CHUNK = _EVENTS_HEAD + ", ".join([_EVENT_ROW] * _EVENT_CHUNK)
_UPSERT_COUNTS_CHUNK = _COUNTS_HEAD + ", ".join([_COUNT_ROW] * _COUNT_CHUNK) + _COUNTS_TAIL


def bucket_of(ts: float, bucket_seconds: float) -> float:
    return math.floor(ts / bucket_seconds) * bucket_seconds


def counter_rows(records: Iterable[EventRecord], bucket_seconds: float) -> list[tuple]:
    """The `event_counts` increments of `records`: (service, env, kind, step, error_code, bucket, n).

    Sorted so that concurrent writers on PostgreSQL lock counter rows in one order. Pure, so
    ingest computes it before it takes the write lock.
    """
    floor = math.floor
    counts: dict[tuple, int] = {}
    for r in records:
        key = (r.service, r.env, r.kind, r.step, r.error_code if r.status == "error" else "",
               floor(r.ts / bucket_seconds) * bucket_seconds)  # bucket_of, inlined
        counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in sorted(counts.items())]


def insert_events(records: Sequence[EventRecord], bucket_seconds: float) -> None:
    """Insert events and bump their bucket counters and duration histograms. Call inside a
    write transaction."""
    from server.store.durations import duration_rows, write_durations  # durations builds on this module

    write_events(records, counter_rows(records, bucket_seconds))
    write_durations(duration_rows(records, bucket_seconds))


def write_events(records: Sequence[EventRecord], counts: Sequence[tuple]) -> None:
    """Insert events and add `counts` (which must be `counter_rows(records, ...)`) to the
    counters. Call inside a write transaction."""
    if store.is_postgres():
        store.executemany(_INSERT_EVENTS, records)
        store.executemany(_UPSERT_COUNTS, counts)
        return
    cursor = store.db.cursor()
    insert_chunked(cursor, records, _EVENT_CHUNK, _INSERT_EVENTS_CHUNK, _INSERT_EVENTS)
    insert_chunked(cursor, counts, _COUNT_CHUNK, _UPSERT_COUNTS_CHUNK, _UPSERT_COUNTS)


def insert_chunked(cursor, rows: Sequence[Sequence], chunk: int, chunk_sql: str, row_sql: str) -> None:
    """Rows in multi-row statements of `chunk` rows (`chunk_sql`), the rest one by one (`row_sql`)."""
    whole = len(rows) - len(rows) % chunk
    for lo in range(0, whole, chunk):
        cursor.execute(chunk_sql, [value for row in rows[lo:lo + chunk] for value in row])
    if whole < len(rows):
        cursor.executemany(row_sql, rows[whole:])


def count_events() -> int:
    return store.fetchone("SELECT COUNT(*) FROM events")[0]


def first_error_ts(family: Family, since: float, until: float) -> float | None:
    row = store.fetchone(
        "SELECT MIN(ts) FROM events WHERE status = 'error' AND service = ? AND env = ? AND step = ?"
        " AND error_code = ? AND ts >= ? AND ts < ?",
        (*family, since, until),
    )
    return row[0] if row else None


def failing_trace_ids(family: Family, since: float, until: float, limit: int = 50) -> list[str]:
    """Trace ids of the family's failing requests in [since, until), earliest first."""
    rows = store.fetchall(
        "SELECT trace_id, MIN(ts) AS first FROM events WHERE status = 'error' AND service = ? AND env = ?"
        " AND step = ? AND error_code = ? AND ts >= ? AND ts < ? AND trace_id IS NOT NULL"
        " GROUP BY trace_id ORDER BY first, trace_id LIMIT ?",
        (*family, since, until, limit),
    )
    return [r[0] for r in rows]


def failing_spans(trace_ids: Iterable[str]) -> list[Span]:
    """The failing events of the given traces, as spans (served by the partial trace index)."""
    ids = sorted(set(trace_ids))
    spans: list[Span] = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        marks = ", ".join("?" * len(chunk))
        rows = store.fetchall(
            "SELECT trace_id, span_id, parent_span_id, service, step, kind, peer, status, error_code, ts,"
            f" version FROM events WHERE status = 'error' AND trace_id IN ({marks})",
            chunk,
        )
        spans.extend(Span(*row) for row in rows)
    spans.sort(key=lambda s: (s.trace_id, s.ts, s.span_id or ""))
    return spans


def decode_attributes(text: str | None) -> dict:
    return orjson.loads(text) if text else {}


def failing_families_of_traces(trace_ids: Iterable[str]) -> dict[str, frozenset[Family]]:
    """trace id -> the families of its failing events (served by the partial trace index)."""
    ids = sorted(set(trace_ids))
    found: dict[str, set[Family]] = {}
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        marks = ", ".join("?" * len(chunk))
        for trace_id, *fam in store.fetchall(
            "SELECT DISTINCT trace_id, service, env, step, error_code FROM events"
            f" WHERE status = 'error' AND trace_id IN ({marks})", chunk,
        ):
            found.setdefault(trace_id, set()).add(Family(*fam))
    return {t: frozenset(f) for t, f in found.items()}
