"""Per-bucket duration histograms, kept at ingest in the same transaction as the events,
and the reads the sentinel's latency check needs (it never scans raw events).

A row counts the timed events of one (service, env, step) in one bucket whose duration
falls in one quarter-octave bin (`sentinel.latency.bin_of`). Events of any kind and
status count; events without `duration_ms` do not.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

from server.sentinel.latency import BINS_PER_OCTAVE
from server.store import db as store
from server.store.events import EventRecord, insert_chunked

_ROW = "(?, ?, ?, ?, ?, ?)"
_HEAD = "INSERT INTO duration_counts (service, env, step, bucket, bin, n) VALUES "
_TAIL = " ON CONFLICT (service, env, step, bucket, bin) DO UPDATE SET n = duration_counts.n + excluded.n"
_UPSERT = _HEAD + _ROW + _TAIL
_CHUNK = 32
_UPSERT_CHUNK = _HEAD + ", ".join([_ROW] * _CHUNK) + _TAIL

StepKey = tuple[str, str, str]  # service, env, step


def duration_rows(records: Iterable[EventRecord], bucket_seconds: float) -> list[tuple]:
    """The `duration_counts` increments of `records`: (service, env, step, bucket, bin, n),
    sorted (so concurrent PostgreSQL writers lock rows in one order). Pure: ingest computes
    them before it takes the write lock."""
    floor, ceil, log2 = math.floor, math.ceil, math.log2
    counts: dict[tuple, int] = {}
    for r in records:
        ms = r.duration_ms
        if ms is None:
            continue
        key = (r.service, r.env, r.step, floor(r.ts / bucket_seconds) * bucket_seconds,
               ceil(log2(ms if ms > 0.001 else 0.001) * BINS_PER_OCTAVE))  # latency.bin_of, inlined
        counts[key] = counts.get(key, 0) + 1
    return [(*key, n) for key, n in sorted(counts.items())]


def write_durations(rows: Sequence[tuple]) -> None:
    """Add `rows` (from `duration_rows`) to the histograms. Call inside a write transaction.

    A batch touches many more histogram rows than counter rows (one per bin), so they go in
    multi-row statements: one per 500 rows on PostgreSQL (the rows are distinct, as one
    ON CONFLICT statement requires), 32 at a time on SQLite."""
    if not rows:
        return
    if store.is_postgres():
        from psycopg2.extras import execute_values  # only exists with the PostgreSQL driver

        execute_values(store.db.cursor(), _HEAD.replace("?", "%s") + "%s" + _TAIL, rows, page_size=500)
        return
    insert_chunked(store.db.cursor(), rows, _CHUNK, _UPSERT_CHUNK, _UPSERT)


def busy_steps(lo: float, hi: float, at_least: int) -> list[StepKey]:
    """Steps with at least `at_least` timed events in [lo, hi)."""
    rows = store.fetchall(
        "SELECT service, env, step FROM duration_counts WHERE bucket >= ? AND bucket < ?"
        " GROUP BY service, env, step HAVING SUM(n) >= ? ORDER BY service, env, step",
        (lo, hi, at_least),
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def step_histograms(step: StepKey, lo: float, hi: float) -> dict[float, dict[int, int]]:
    """bucket -> (bin -> count) of one step over [lo, hi)."""
    found: dict[float, dict[int, int]] = {}
    for bucket, index, n in store.fetchall(
        "SELECT bucket, bin, n FROM duration_counts WHERE service = ? AND env = ? AND step = ?"
        " AND bucket >= ? AND bucket < ?", (*step, lo, hi),
    ):
        found.setdefault(float(bucket), {})[int(index)] = int(n)
    return found
