"""Events read as traces: one request's events, and the failing traces of families.

Only failing events are indexed by trace (`events_errors_by_trace`, a partial index, so
ingest of healthy traffic pays for no secondary index). The healthy spans of a failing
trace are found by row id instead: the spans of one request are stored at about the same
time, so they sit near its failing spans in the table, and a bounded primary-key range
scan around those finds them without any index. Spans stored further away are missed;
`TraceRead` says how far the search went so that callers can say so.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.engine.model import Family
from server.store import db as store

# Rows searched on either side of each failing span for the healthy spans of its trace.
NEIGHBOURHOOD_ROWS = 5000
# Most separate row ranges one trace's search may touch (failing spans stored far apart).
MAX_RANGES = 8
MAX_TRACE_EVENTS = 2000

_COLUMNS = ("id, trace_id, span_id, parent_span_id, service, env, version, kind, peer, step, status,"
            " error_code, duration_ms, ts, user_id, attributes")


@dataclass(frozen=True)
class TraceEvent:
    """One stored event of a trace, attributes decoded."""

    row_id: int
    trace_id: str
    span_id: str | None
    parent_span_id: str | None
    service: str
    env: str
    version: str | None
    kind: str
    peer: str | None
    step: str
    status: str
    error_code: str | None
    duration_ms: float | None
    ts: float
    user_id: str | None
    attributes: dict[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        return self.status == "error"


@dataclass(frozen=True)
class TraceRead:
    """The events found for one trace and how they were searched.

    `search` is "neighbourhood" (healthy spans searched within `rows_either_side` rows of the
    failing ones) or "recent" (the trace has no failing event: only the newest rows were
    searched). `truncated` is True when the trace had more than MAX_TRACE_EVENTS events.
    """

    trace_id: str
    events: tuple[TraceEvent, ...]
    failing: int
    search: str
    rows_either_side: int
    truncated: bool


def _event(row: tuple) -> TraceEvent:
    attributes = orjson.loads(row[15]) if row[15] else {}
    return TraceEvent(int(row[0]), *row[1:15], attributes if isinstance(attributes, dict) else {})


def _ranges(row_ids: Sequence[int], either_side: int) -> list[tuple[int, int]]:
    """Merged [lo, hi] row ranges around `row_ids`, at most MAX_RANGES (the earliest kept)."""
    merged: list[list[int]] = []
    for row_id in sorted(row_ids):
        lo, hi = row_id - either_side, row_id + either_side
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged[:MAX_RANGES]]


def read_trace(trace_id: str, either_side: int = NEIGHBOURHOOD_ROWS) -> TraceRead:
    """Every event of `trace_id` that the index and a bounded search around it can find."""
    failing = [_event(r) for r in store.fetchall(
        f"SELECT {_COLUMNS} FROM events WHERE status = 'error' AND trace_id = ? ORDER BY id LIMIT ?",
        (trace_id, MAX_TRACE_EVENTS + 1))]
    if failing:
        search = "neighbourhood"
        ranges = _ranges([e.row_id for e in failing], either_side)
    else:
        search = "recent"
        top = store.fetchone("SELECT MAX(id) FROM events")
        ranges = [(int(top[0]) - 2 * either_side, int(top[0]))] if top and top[0] is not None else []
    healthy: list[TraceEvent] = []
    for lo, hi in ranges:
        healthy.extend(_event(r) for r in store.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE id >= ? AND id <= ? AND trace_id = ? AND status <> 'error'"
            " ORDER BY id LIMIT ?",
            (lo, hi, trace_id, MAX_TRACE_EVENTS + 1)))
    found = sorted({e.row_id: e for e in failing + healthy}.values(), key=lambda e: e.row_id)
    return TraceRead(trace_id, tuple(found[:MAX_TRACE_EVENTS]), len(failing), search, either_side,
                     len(found) > MAX_TRACE_EVENTS)


def first_failing_traces(families: Sequence[Family], since: float, until: float, limit: int,
                         scan_per_family: int = 5000) -> list[tuple[str, float]]:
    """The earliest failing traces of `families` in [since, until): (trace id, first failure ts),
    earliest first, at most `limit`. Reads at most `scan_per_family` failing events of each
    family in index order, so the cost does not grow with the length of an outage."""
    first: dict[str, float] = {}
    for family in sorted(set(families)):
        rows = store.fetchall(
            "SELECT trace_id, ts FROM events WHERE status = 'error' AND service = ? AND env = ? AND step = ?"
            " AND error_code = ? AND ts >= ? AND ts < ? AND trace_id IS NOT NULL ORDER BY ts LIMIT ?",
            (*family, since, until, scan_per_family),
        )
        for trace_id, ts in rows:
            if trace_id not in first or ts < first[trace_id]:
                first[trace_id] = ts
    return sorted(first.items(), key=lambda item: (item[1], item[0]))[:limit]


def failing_events(trace_ids: Iterable[str]) -> list[TraceEvent]:
    """The failing events of the given traces (served by the partial trace index)."""
    ids = sorted(set(trace_ids))
    found: list[TraceEvent] = []
    for start in range(0, len(ids), 200):
        chunk = ids[start:start + 200]
        marks = ", ".join("?" * len(chunk))
        found.extend(_event(r) for r in store.fetchall(
            f"SELECT {_COLUMNS} FROM events WHERE status = 'error' AND trace_id IN ({marks})", chunk))
    found.sort(key=lambda e: (e.trace_id, e.ts, e.row_id))
    return found


def first_error_ts(families: Sequence[Family], since: float, until: float) -> dict[Family, float | None]:
    """Each family's first failing event in [since, until)."""
    result: dict[Family, float | None] = {}
    for family in families:
        row = store.fetchone(
            "SELECT MIN(ts) FROM events WHERE status = 'error' AND service = ? AND env = ? AND step = ?"
            " AND error_code = ? AND ts >= ? AND ts < ?",
            (*family, since, until),
        )
        result[family] = row[0] if row else None
    return result
