"""Blast evidence ("How bad is it?"): requests failed and total, error rate and trend, users,
services hit, entry points, sample traces.

Counts of requests come from the per-bucket counters, exact and cheap. Users, services
and entry points need traces: they are counted over the earliest failing traces since
the onset (at most TRACE_SAMPLE), and the snapshot says when that was a sample.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.engine.model import Family
from server.evidence.snapshot import MISSING, OK, PARTIAL, capped, rate, snapshot
from server.evidence.story import Tree
from server.store import counters, traces
from server.store.events import bucket_of
from server.store.traces import TraceEvent

TRACE_SAMPLE = 500
MAX_SERVICES = 20
MAX_ENTRY_POINTS = 5
MAX_SAMPLE_TRACES = 5
MAX_FAMILIES = 50


@dataclass(frozen=True)
class FamilyCounts:
    """A family's failures and its step's requests since the start, and its first failure."""

    family: Family
    failed: int
    total: int
    first_error_ts: float | None


@dataclass(frozen=True)
class Trend:
    """Failures and requests of the failing steps in the current and the previous window."""

    window_seconds: float
    current: tuple[int, int]
    previous: tuple[int, int]

    @property
    def direction(self) -> str:
        now, before = self.current[0], self.previous[0]
        if now == 0:
            return "stopped"
        if before == 0 or now > before * 1.25:
            return "rising"
        if now < before * 0.8:
            return "falling"
        return "steady"


def blast_snapshot(counts: Sequence[FamilyCounts], step_totals: int, trend: Trend,
                   first_traces: Sequence[tuple[str, float]], events: Sequence[TraceEvent]) -> dict[str, Any]:
    """The snapshot from counter totals, the trend, and the failing events of the earliest
    failing traces (`first_traces`: trace id and first failure, earliest first)."""
    if not counts:
        return snapshot(MISSING, "no failing requests match", requests={"failed": 0, "total": 0}, error_rate=None,
                        trend=None, by_family=[], by_family_left_out=0, users=None, services=[], services_left_out=0,
                        entry_points=[], entry_points_left_out=0, sample_traces=[], traces_counted=0)
    failed = sum(c.failed for c in counts)
    by_trace: dict[str, list[TraceEvent]] = {}
    for e in events:
        by_trace.setdefault(e.trace_id, []).append(e)

    service_traces: Counter = Counter()
    service_events: Counter = Counter()
    entries: Counter = Counter()
    users: set[str] = set()
    for trace_events in by_trace.values():
        for service in {e.service for e in trace_events}:
            service_traces[service] += 1
        service_events.update(e.service for e in trace_events)
        users.update(e.user_id for e in trace_events if e.user_id)
        tree = Tree(trace_events)
        leaf = tree.first_failure()
        if leaf is not None:
            entry = tree.chain(leaf)[0]
            entries[(entry.service, entry.step)] += 1

    services = sorted(({"service": s, "failing_traces": n, "failing_events": service_events[s]}
                       for s, n in service_traces.items()), key=lambda s: (-s["failing_traces"], s["service"]))
    services, services_left_out = capped(services, MAX_SERVICES)
    entry_points = sorted(({"service": s, "step": step, "traces": n} for (s, step), n in entries.items()),
                          key=lambda e: (-e["traces"], e["service"], e["step"]))
    entry_points, entry_points_left_out = capped(entry_points, MAX_ENTRY_POINTS)

    gaps = []
    if not first_traces:
        gaps.append("no failing event carries a trace id: services, entry points and users are not counted")
    elif len(first_traces) >= TRACE_SAMPLE and failed > len(first_traces):
        gaps.append(f"services, entry points and users are counted over the first {len(first_traces)}"
                    " failing traces since the onset")
    return snapshot(
        PARTIAL if gaps else OK, "; ".join(gaps) or None,
        requests={"failed": failed, "total": step_totals}, error_rate=rate(failed, step_totals),
        trend={"direction": trend.direction, "window_seconds": trend.window_seconds,
               "current": {"failed": trend.current[0], "total": trend.current[1],
                           "error_rate": rate(*trend.current)},
               "previous": {"failed": trend.previous[0], "total": trend.previous[1],
                            "error_rate": rate(*trend.previous)}},
        by_family=[{"id": c.family.evidence_id, **c.family.as_dict(), "failed": c.failed, "total": c.total,
                    "error_rate": rate(c.failed, c.total), "first_error_ts": c.first_error_ts}
                   for c in counts[:MAX_FAMILIES]],
        by_family_left_out=max(0, len(counts) - MAX_FAMILIES),
        users=len(users) if users else None,
        services=services, services_left_out=services_left_out,
        entry_points=entry_points, entry_points_left_out=entry_points_left_out,
        sample_traces=[{"trace_id": t, "ts": ts} for t, ts in first_traces[:MAX_SAMPLE_TRACES]],
        traces_counted=len(by_trace),
    )


def _window(window_seconds: float, bucket: float) -> float:
    # Windows lie on the bucket grid, as the engine's do.
    return max(1, round(window_seconds / bucket)) * bucket


def capture_blast(families: Sequence[Family], since: float, until: float, window_seconds: float,
                  bucket: float) -> dict[str, Any]:
    """Blast of `families` from `since` (counted from the start of its bucket) up to `until`,
    the trend comparing the last window to the one before."""
    families = sorted(set(families))
    lo, hi = bucket_of(since, bucket), bucket_of(until, bucket) + bucket
    window = _window(window_seconds, bucket)
    steps = sorted({(f.service, f.env, f.step) for f in families})
    first_errors = traces.first_error_ts(families, since, hi)
    counts = [FamilyCounts(f, counters.family_errors_by_window(f, (lo, hi))[0],
                           counters.step_requests(f.service, f.env, f.step, lo, hi), first_errors[f])
              for f in families]

    def window_totals(a: float, b: float) -> tuple[int, int]:
        failed = sum(counters.family_errors_by_window(f, (a, b))[0] for f in families)
        return failed, sum(counters.step_requests(*s, a, b) for s in steps)

    trend = Trend(window, window_totals(hi - window, hi), window_totals(hi - 2 * window, hi - window))
    first_traces = traces.first_failing_traces(families, since, hi, TRACE_SAMPLE)
    events = traces.failing_events([t for t, _ in first_traces])
    step_totals = sum(counters.step_requests(*s, lo, hi) for s in steps)
    return blast_snapshot(counts, step_totals, trend, first_traces, events)


MAX_QUERY_FAMILIES = 50


def blast_radius(*, service: str | None, env: str | None, step: str | None, error_code: str | None,
                 now: float, window_seconds: float, bucket: float) -> dict[str, Any]:
    """The blast of every failing family matching the given filters (None: any) over the
    last `window_seconds`; the families with the most failures first when over the cap."""
    since = now - window_seconds
    found = counters.families_with_errors(bucket_of(since, bucket), bucket_of(now, bucket) + bucket, 1)
    matching = sorted((f for f in found
                       if all(want is None or have == want for have, want in
                              ((f.service, service), (f.env, env), (f.step, step), (f.error_code, error_code)))),
                      key=lambda f: (-found[f], f))
    kept, left_out = capped(matching, MAX_QUERY_FAMILIES)
    return {"families": [f.evidence_id for f in sorted(kept)], "families_left_out": left_out,
            **capture_blast(kept, since, now, window_seconds, bucket)}
