"""Reads over `event_counts`, the per-bucket counters kept at ingest.

Windows are half-open time ranges [lo, hi) on the bucket grid. These queries read
counters only: the engine never scans raw events to count.
"""

from __future__ import annotations

from collections.abc import Sequence

from server.engine.model import Family
from server.store import db as store


def families_with_errors(lo: float, hi: float, at_least: int) -> dict[Family, int]:
    """Request families with at least `at_least` errors in [lo, hi)."""
    rows = store.fetchall(
        "SELECT service, env, step, error_code, SUM(n) FROM event_counts"
        " WHERE bucket >= ? AND bucket < ? AND kind = 'request' AND error_code <> ''"
        " GROUP BY service, env, step, error_code HAVING SUM(n) >= ?",
        (lo, hi, at_least),
    )
    return {Family(*row[:4]): int(row[4]) for row in rows}


def family_errors_by_window(family: Family, edges: Sequence[float]) -> list[int]:
    """Error counts of `family` in each window [edges[i], edges[i+1])."""
    rows = store.fetchall(
        "SELECT bucket, n FROM event_counts WHERE service = ? AND env = ? AND kind = 'request'"
        " AND step = ? AND error_code = ? AND bucket >= ? AND bucket < ?",
        (*family, edges[0], edges[-1]),
    )
    return _split(rows, edges)


def family_errors_by_bucket(family: Family, lo: float, hi: float) -> list[tuple[float, int]]:
    rows = store.fetchall(
        "SELECT bucket, n FROM event_counts WHERE service = ? AND env = ? AND kind = 'request'"
        " AND step = ? AND error_code = ? AND bucket >= ? AND bucket < ? ORDER BY bucket",
        (*family, lo, hi),
    )
    return [(float(b), int(n)) for b, n in rows]


def step_requests(service: str, env: str, step: str, lo: float, hi: float) -> int:
    row = store.fetchone(
        "SELECT COALESCE(SUM(n), 0) FROM event_counts WHERE service = ? AND env = ? AND kind = 'request'"
        " AND step = ? AND bucket >= ? AND bucket < ?",
        (service, env, step, lo, hi),
    )
    return int(row[0])


def _split(rows: Sequence[tuple], edges: Sequence[float]) -> list[int]:
    totals = [0] * (len(edges) - 1)
    for bucket, n in rows:
        for i in range(len(edges) - 1):
            if edges[i] <= bucket < edges[i + 1]:
                totals[i] += int(n)
                break
    return totals


def service_requests(service: str, env: str, lo: float, hi: float) -> tuple[int, int]:
    """(failed, total) requests of a whole service in [lo, hi): a deploy's before/after rates."""
    row = store.fetchone(
        "SELECT COALESCE(SUM(CASE WHEN error_code <> '' THEN n ELSE 0 END), 0), COALESCE(SUM(n), 0)"
        " FROM event_counts WHERE service = ? AND env = ? AND kind = 'request' AND bucket >= ? AND bucket < ?",
        (service, env, lo, hi),
    )
    return int(row[0]), int(row[1])


def traffic_by_kind(services: Sequence[str], lo: float, hi: float) -> dict[tuple[str, str], int]:
    """Events per (service, kind) in [lo, hi), any status: who sends what at all."""
    names = sorted(set(services))
    if not names:
        return {}
    marks = ", ".join("?" * len(names))
    rows = store.fetchall(
        f"SELECT service, kind, SUM(n) FROM event_counts WHERE service IN ({marks})"
        " AND bucket >= ? AND bucket < ? GROUP BY service, kind",
        (*names, lo, hi),
    )
    return {(service, kind): int(n) for service, kind, n in rows}


def service_traffic(lo: float, hi: float) -> list[dict[str, object]]:
    """Per (service, env): `requests` and `errors` (request events) in [lo, hi) and
    `last_seen`, the start of the newest bucket holding any event of it (any time).
    Sorted by service, env. Services silent in [lo, hi) are listed with 0 requests."""
    recent = {(s, e): (int(f), int(t)) for s, e, f, t in store.fetchall(
        "SELECT service, env, COALESCE(SUM(CASE WHEN error_code <> '' THEN n ELSE 0 END), 0), COALESCE(SUM(n), 0)"
        " FROM event_counts WHERE kind = 'request' AND bucket >= ? AND bucket < ? GROUP BY service, env",
        (lo, hi))}
    seen = store.fetchall("SELECT service, env, MAX(bucket) FROM event_counts GROUP BY service, env ORDER BY 1, 2")
    return [{"service": service, "env": env, "errors": recent.get((service, env), (0, 0))[0],
             "requests": recent.get((service, env), (0, 0))[1], "last_seen": float(last)}
            for service, env, last in seen]
