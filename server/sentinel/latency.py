"""Tail-latency spikes per (service, step), from per-bucket duration histograms. Pure.

Durations are counted at ingest into quarter-octave bins (bin i holds (2^((i-1)/4),
2^(i/4)] ms, each about 19% wide); a percentile is read from the bins with geometric
interpolation inside the bin it falls in, so it is within a few percent of the exact
value: ample for spikes measured in multiples of the baseline.

A window spikes when it has at least `min_requests` timed requests, its percentile is at
least `factor` times the baseline (the median percentile of the prior windows that had
`min_requests` themselves; at least two must qualify) and at least `floor_ms`. It opens
an incident only when the windows ending at each of the last `persist_ticks` ticks spike.
An open incident keeps spiking while the current window reaches `factor` times the
baseline frozen when it opened (and the floor).
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

BINS_PER_OCTAVE = 4
MIN_QUALIFYING = 2
Histogram = Mapping[int, int]  # bin -> count


def bin_of(duration_ms: float) -> int:
    return math.ceil(math.log2(max(duration_ms, 0.001)) * BINS_PER_OCTAVE)


def bin_upper_ms(index: int) -> float:
    return 2 ** (index / BINS_PER_OCTAVE)


def percentile_ms(histogram: Histogram, q: float) -> float | None:
    """The q-th percentile (0 < q < 100) of the durations counted in `histogram`."""
    total = sum(histogram.values())
    if total <= 0:
        return None
    rank = q / 100 * total
    seen = 0
    for index in sorted(histogram):
        n = histogram[index]
        if n <= 0:
            continue
        if seen + n >= rank:
            lower, upper = bin_upper_ms(index - 1), bin_upper_ms(index)
            inside = (rank - seen) / n
            return round(lower * (upper / lower) ** inside, 3)
        seen += n
    return round(bin_upper_ms(max(histogram)), 3)


def merge(histograms: Sequence[Histogram]) -> dict[int, int]:
    merged: dict[int, int] = {}
    for h in histograms:
        for index, n in h.items():
            merged[index] = merged.get(index, 0) + n
    return merged


@dataclass(frozen=True)
class LatencySettings:
    percentile: int
    factor: float
    min_requests: int
    floor_ms: float
    baseline_windows: int
    persist_ticks: int


@dataclass(frozen=True)
class WindowGrid:
    """Windows on the bucket grid: the newest ends at `hi`; a window is `per_window` buckets."""

    hi: float
    bucket: float
    per_window: int

    def window(self, ticks_back: int, windows_back: int) -> tuple[float, float]:
        hi = self.hi - ticks_back * self.bucket - windows_back * self.per_window * self.bucket
        return hi - self.per_window * self.bucket, hi

    def lookback(self, baseline_windows: int, persist_ticks: int) -> float:
        return self.window(persist_ticks - 1, baseline_windows)[0]


def window_histogram(by_bucket: Mapping[float, Histogram], lo: float, hi: float) -> dict[int, int]:
    return merge([h for bucket, h in by_bucket.items() if lo <= bucket < hi])


@dataclass(frozen=True)
class LatencyVerdict:
    spiking: bool
    reason: str  # spike | below_min_requests | no_baseline | below_factor | below_floor | not_persistent
    value_ms: float | None
    requests: int
    baseline_ms: float | None
    priors: tuple[dict[str, Any], ...] = ()
    persisted: int = 0


def judge_window(current: Histogram, priors: Sequence[Histogram], s: LatencySettings) -> LatencyVerdict:
    requests = sum(current.values())
    value = percentile_ms(current, s.percentile)
    prior_docs = tuple({"p_ms": percentile_ms(p, s.percentile), "requests": sum(p.values())} for p in priors)
    if requests < s.min_requests:
        return LatencyVerdict(False, "below_min_requests", value, requests, None, prior_docs)
    qualifying = [d["p_ms"] for d in prior_docs if d["requests"] >= s.min_requests]
    if len(qualifying) < MIN_QUALIFYING:
        return LatencyVerdict(False, "no_baseline", value, requests, None, prior_docs)
    base = float(statistics.median(qualifying))
    return _against(value, requests, base, s, prior_docs)


def _against(value: float | None, requests: int, base: float, s: LatencySettings,
             prior_docs: tuple[dict[str, Any], ...] = ()) -> LatencyVerdict:
    if value is None or value < s.factor * base:
        return LatencyVerdict(False, "below_factor", value, requests, base, prior_docs)
    if value < s.floor_ms:
        return LatencyVerdict(False, "below_floor", value, requests, base, prior_docs)
    return LatencyVerdict(True, "spike", value, requests, base, prior_docs)


def judge_step(by_bucket: Mapping[float, Histogram], grid: WindowGrid, s: LatencySettings) -> LatencyVerdict:
    """The newest window's verdict, spiking only when it persisted for `persist_ticks` ticks."""
    verdicts = []
    for back in range(s.persist_ticks):
        current = window_histogram(by_bucket, *grid.window(back, 0))
        priors = [window_histogram(by_bucket, *grid.window(back, w)) for w in range(s.baseline_windows, 0, -1)]
        verdicts.append(judge_window(current, priors, s))
        if not verdicts[-1].spiking:
            break
    newest = verdicts[0]
    held = len(verdicts) if verdicts[-1].spiking else len(verdicts) - 1
    if newest.spiking and held < s.persist_ticks:
        return LatencyVerdict(False, "not_persistent", newest.value_ms, newest.requests, newest.baseline_ms,
                              newest.priors, held)
    return LatencyVerdict(newest.spiking, newest.reason, newest.value_ms, newest.requests, newest.baseline_ms,
                          newest.priors, held)


def still_spiking(by_bucket: Mapping[float, Histogram], grid: WindowGrid, frozen_baseline_ms: float,
                  s: LatencySettings) -> LatencyVerdict:
    """An open latency incident's verdict: the current window against its frozen baseline."""
    current = window_histogram(by_bucket, *grid.window(0, 0))
    requests = sum(current.values())
    if requests < s.min_requests:
        return LatencyVerdict(False, "below_min_requests", percentile_ms(current, s.percentile), requests,
                              frozen_baseline_ms)
    return _against(percentile_ms(current, s.percentile), requests, frozen_baseline_ms, s)


def measurement(service: str, step: str, verdict: LatencyVerdict, s: LatencySettings,
                window_seconds: float) -> dict[str, Any]:
    """What was measured, for the incident's analysis and its report."""
    return {
        "anomaly": "latency", "metric": f"p{s.percentile} latency", "service": service, "step": step,
        "percentile": s.percentile, "current_ms": verdict.value_ms, "baseline_ms": verdict.baseline_ms,
        "ratio": round(verdict.value_ms / verdict.baseline_ms, 2) if verdict.value_ms and verdict.baseline_ms else None,
        "requests": verdict.requests, "prior_windows": list(verdict.priors),
        "qualifying_windows": sum(1 for p in verdict.priors if p["requests"] >= s.min_requests),
        "factor": s.factor, "floor_ms": s.floor_ms, "min_requests": s.min_requests,
        "window_seconds": window_seconds, "persisted_ticks": verdict.persisted,
    }
