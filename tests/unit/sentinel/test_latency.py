"""sentinel.latency: percentiles from quarter-octave histograms, spikes that must persist."""

from __future__ import annotations

import random

import pytest

from server.sentinel.latency import (
    LatencySettings,
    WindowGrid,
    bin_of,
    judge_step,
    judge_window,
    measurement,
    percentile_ms,
    still_spiking,
)

S = LatencySettings(percentile=95, factor=3, min_requests=20, floor_ms=100, baseline_windows=5, persist_ticks=3)
GRID = WindowGrid(hi=1_700_000_100.0, bucket=10, per_window=6)


def histogram(durations: list[float]) -> dict[int, int]:
    h: dict[int, int] = {}
    for ms in durations:
        h[bin_of(ms)] = h.get(bin_of(ms), 0) + 1
    return h


@pytest.mark.parametrize("q", [50, 95, 99])
def test_percentiles_from_bins_are_within_ten_percent_of_the_exact_value(q):
    rng = random.Random(q)
    durations = sorted(rng.lognormvariate(4, 0.8) for _ in range(5000))
    exact = durations[int(q / 100 * len(durations)) - 1]
    assert percentile_ms(histogram(durations), q) == pytest.approx(exact, rel=0.1)


def test_an_empty_histogram_has_no_percentile():
    assert percentile_ms({}, 95) is None


def fill(by_bucket: dict, lo: float, hi: float, ms: float, per_bucket: int = 10) -> None:
    t = lo
    while t < hi:
        by_bucket[t] = histogram([ms] * per_bucket)
        t += 10


def series(spike_buckets: int, normal_ms: float = 40, spike_ms: float = 400) -> dict:
    """Normal latency for the prior windows, the last `spike_buckets` buckets slow."""
    by_bucket: dict = {}
    lo = GRID.lookback(5, 3)
    fill(by_bucket, lo, GRID.hi - spike_buckets * 10, normal_ms)
    fill(by_bucket, GRID.hi - spike_buckets * 10, GRID.hi, spike_ms)
    return by_bucket


def test_a_window_three_times_its_baseline_and_above_the_floor_spikes():
    verdict = judge_window(histogram([400] * 30), [histogram([40] * 30)] * 5, S)
    assert verdict.spiking and verdict.reason == "spike"
    assert verdict.baseline_ms == pytest.approx(40, rel=0.2)  # bins are 19% wide


def test_a_spike_below_the_absolute_floor_is_not_one():
    assert judge_window(histogram([60] * 30), [histogram([10] * 30)] * 5, S).reason == "below_floor"


def test_too_few_requests_or_too_few_qualifying_priors_are_not_judged():
    assert judge_window(histogram([400] * 5), [histogram([40] * 30)] * 5, S).reason == "below_min_requests"
    priors = [histogram([40] * 30)] + [histogram([40] * 3)] * 4
    assert judge_window(histogram([400] * 30), priors, S).reason == "no_baseline"


def test_a_spike_must_persist_for_the_configured_ticks():
    # Two slow buckets: the windows ending now and one tick ago spike, two ticks ago did not.
    young = judge_step(series(2), GRID, S)
    assert not young.spiking and young.reason == "not_persistent" and young.persisted == 2
    held = judge_step(series(4), GRID, S)
    assert held.spiking and held.persisted == 3
    assert held.value_ms == pytest.approx(400, rel=0.1)


def test_an_open_spike_is_judged_against_its_frozen_baseline():
    slow = series(12)  # two whole windows slow: its own baseline is drifting up
    assert still_spiking(slow, GRID, 40.0, S).spiking
    assert not still_spiking(series(0), GRID, 40.0, S).spiking


def test_the_measurement_says_what_was_measured():
    verdict = judge_step(series(4), GRID, S)
    m = measurement("checkout", "POST /pay", verdict, S, 60)
    assert m["anomaly"] == "latency" and m["metric"] == "p95 latency" and m["requests"] == 60
    assert m["qualifying_windows"] == 5 and m["persisted_ticks"] == 3
    assert m["ratio"] == pytest.approx(10, rel=0.15)
