"""Traffic surges and drops per service, from request counters. Pure.

The baseline is the median of the service's requests in the `baseline_windows` windows
before the current one, and must be at least `min_events` (a quiet service's swings mean
nothing). A surge is a window at `surge_factor` times the baseline or more; a drop is a
window at `drop_fraction` of it or less but above zero (no requests at all is the
sentinel's service_silent). Either must hold for the windows ending at each of the last
`persist_ticks` ticks before it opens an incident; an open one is judged against the
baseline frozen when it opened.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from server.sentinel.latency import WindowGrid

SURGE, DROP = "traffic_surge", "traffic_drop"


@dataclass(frozen=True)
class TrafficSettings:
    surge_factor: float
    drop_fraction: float
    min_events: int
    baseline_windows: int
    persist_ticks: int


@dataclass(frozen=True)
class TrafficVerdict:
    kind: str | None  # traffic_surge | traffic_drop | None
    reason: str  # surge | drop | low_baseline | normal | not_persistent
    current: int
    baseline: float
    priors: tuple[int, ...] = ()
    persisted: int = 0


def window_count(by_bucket: Mapping[float, int], lo: float, hi: float) -> int:
    return sum(n for bucket, n in by_bucket.items() if lo <= bucket < hi)


def judge_window(current: int, priors: tuple[int, ...], s: TrafficSettings) -> TrafficVerdict:
    base = float(statistics.median(priors)) if priors else 0.0
    if base < s.min_events:
        return TrafficVerdict(None, "low_baseline", current, base, priors)
    if current >= s.surge_factor * base:
        return TrafficVerdict(SURGE, "surge", current, base, priors)
    if 0 < current <= s.drop_fraction * base:
        return TrafficVerdict(DROP, "drop", current, base, priors)
    return TrafficVerdict(None, "normal", current, base, priors)


def judge_service(by_bucket: Mapping[float, int], grid: WindowGrid, s: TrafficSettings) -> TrafficVerdict:
    """The newest window's verdict; a surge or drop only when the same held for `persist_ticks`."""
    verdicts = []
    for back in range(s.persist_ticks):
        current = window_count(by_bucket, *grid.window(back, 0))
        priors = tuple(window_count(by_bucket, *grid.window(back, w)) for w in range(s.baseline_windows, 0, -1))
        verdicts.append(judge_window(current, priors, s))
        if verdicts[-1].kind is None or verdicts[-1].kind != verdicts[0].kind:
            break
    newest = verdicts[0]
    held = sum(1 for v in verdicts if v.kind is not None and v.kind == newest.kind)
    if newest.kind is not None and held < s.persist_ticks:
        return TrafficVerdict(None, "not_persistent", newest.current, newest.baseline, newest.priors, held)
    return TrafficVerdict(newest.kind, newest.reason, newest.current, newest.baseline, newest.priors, held)


def still_anomalous(kind: str, by_bucket: Mapping[float, int], grid: WindowGrid, frozen_baseline: float,
                    s: TrafficSettings) -> bool:
    current = window_count(by_bucket, *grid.window(0, 0))
    if kind == SURGE:
        return current >= s.surge_factor * frozen_baseline
    return current <= s.drop_fraction * frozen_baseline


def measurement(service: str, verdict: TrafficVerdict, s: TrafficSettings, window_seconds: float) -> dict[str, Any]:
    """What was measured, for the incident's analysis and its report."""
    threshold = s.surge_factor if verdict.kind == SURGE else s.drop_fraction
    return {
        "anomaly": verdict.kind, "metric": "requests per window", "service": service,
        "current": verdict.current, "baseline": verdict.baseline,
        "ratio": round(verdict.current / verdict.baseline, 3) if verdict.baseline else None,
        "threshold": threshold, "prior_windows": list(verdict.priors), "min_events": s.min_events,
        "window_seconds": window_seconds, "persisted_ticks": verdict.persisted,
    }
