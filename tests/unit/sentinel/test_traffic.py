"""sentinel.traffic: surges and drops against the median of prior windows."""

from __future__ import annotations

from server.sentinel.latency import WindowGrid
from server.sentinel.traffic import DROP, SURGE, TrafficSettings, judge_service, judge_window, still_anomalous

S = TrafficSettings(surge_factor=3, drop_fraction=0.3, min_events=50, baseline_windows=5, persist_ticks=3)
GRID = WindowGrid(hi=1_700_000_100.0, bucket=10, per_window=6)


def series(normal: int, changed: int, buckets: int) -> dict[float, int]:
    lo = GRID.lookback(5, 3)
    counts, t = {}, lo
    while t < GRID.hi:
        counts[t] = changed if t >= GRID.hi - buckets * 10 else normal
        t += 10
    return counts


def test_surge_and_drop_against_the_median_of_prior_windows():
    assert judge_window(400, (100, 100, 110, 90, 100), S).kind == SURGE
    assert judge_window(20, (100, 100, 110, 90, 100), S).kind == DROP
    assert judge_window(100, (100, 100, 110, 90, 100), S).kind is None


def test_no_requests_at_all_is_not_a_drop_but_the_sentinels_silence():
    assert judge_window(0, (100, 100, 100, 100, 100), S).kind is None


def test_a_quiet_service_is_not_judged():
    assert judge_window(300, (10, 10, 10, 10, 10), S).reason == "low_baseline"


def test_a_change_must_persist_before_it_counts():
    # 20 requests per bucket normally (120 per window), then nothing but 1 per bucket.
    assert judge_service(series(20, 1, 8), GRID, S).kind == DROP
    assert judge_service(series(20, 1, 6), GRID, S).reason == "not_persistent"
    assert judge_service(series(20, 100, 1), GRID, S).reason in ("normal", "not_persistent")


def test_an_open_anomaly_is_judged_against_its_frozen_baseline():
    assert still_anomalous(DROP, series(20, 2, 6), GRID, 120, S)
    assert not still_anomalous(DROP, series(20, 20, 6), GRID, 120, S)
    assert still_anomalous(SURGE, series(20, 80, 6), GRID, 120, S)
