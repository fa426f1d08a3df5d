"""Spike detection on plain counts: min_count, lift over the median baseline, minimum error rate."""

from __future__ import annotations

from server.engine.detect import DetectSettings, baseline_of, detect, judge
from server.engine.model import WindowCounts
from tests.support.factories import family

SETTINGS = DetectSettings(min_count=5, lift=3)


def verdict(errors: int, priors: tuple[int, int, int], requests: int = 1000,
            settings: DetectSettings = SETTINGS):
    f = family()
    return detect({f: WindowCounts(errors, priors, requests)}, settings)[f]


def test_baseline_is_the_median_of_the_prior_windows():
    assert baseline_of((0, 500, 0)) == 0
    assert baseline_of((30, 0, 30)) == 30
    assert baseline_of((4, 9, 6)) == 6


def test_one_odd_prior_window_neither_hides_nor_fakes_a_spike():
    # One huge prior window (a past outage) would lift a mean baseline to ~167 and hide
    # this spike; the median stays at the usual zero.
    hidden = verdict(errors=40, priors=(0, 500, 0))
    assert hidden.spiking and hidden.baseline == 0

    # One odd-low prior window (a scrape gap, a quiet minute) would drop a minimum baseline
    # to zero and make ordinary traffic look like a spike; the median stays at 30.
    faked = verdict(errors=35, priors=(30, 0, 30))
    assert not faked.spiking
    assert faked.reason == "below_lift" and faked.baseline == 30


def test_steady_errors_do_not_spike_but_three_times_the_baseline_does():
    assert verdict(errors=6, priors=(6, 6, 6)).reason == "below_lift"
    assert verdict(errors=17, priors=(6, 6, 6)).reason == "below_lift"
    # The lift is inclusive: exactly lift x baseline spikes.
    assert verdict(errors=18, priors=(6, 6, 6)).spiking


def test_a_family_needs_min_count_errors_even_without_a_baseline():
    below = verdict(errors=4, priors=(0, 0, 0), requests=4)
    assert not below.spiking and below.reason == "below_min_count"
    assert verdict(errors=5, priors=(0, 0, 0), requests=5).spiking


def test_low_traffic_family_under_min_rate_does_not_spike():
    guarded = DetectSettings(min_count=5, lift=3, min_error_rate=0.05)
    # 6 errors out of 1000 requests: a count spike over a zero baseline, but a 0.6% error rate.
    quiet = verdict(errors=6, priors=(0, 0, 0), requests=1000, settings=guarded)
    assert not quiet.spiking
    assert quiet.reason == "below_min_error_rate"
    assert quiet.error_rate == 0.006
    # The rate guard is what holds it back: without it the same counts spike ...
    assert verdict(errors=6, priors=(0, 0, 0), requests=1000).spiking
    # ... and with it a family whose requests mostly fail still spikes.
    assert verdict(errors=6, priors=(0, 0, 0), requests=20, settings=guarded).spiking


def test_rate_guard_does_not_override_the_count_rules():
    guarded = DetectSettings(min_count=5, lift=3, min_error_rate=0.05)
    # 100% of requests fail, but 3 errors are below min_count.
    assert verdict(errors=3, priors=(0, 0, 0), requests=3, settings=guarded).reason == "below_min_count"


def test_each_family_is_judged_against_its_own_priors():
    noisy, quiet = family(service="search"), family(service="payment")
    verdicts = detect({noisy: WindowCounts(20, (20, 20, 20), 500), quiet: WindowCounts(20, (0, 0, 0), 500)},
                      SETTINGS)
    assert not verdicts[noisy].spiking
    assert verdicts[quiet].spiking


def test_error_rate_is_unknown_without_requests():
    assert judge(7, 0.0, 0, SETTINGS).error_rate is None
    assert judge(7, 0.0, 14, SETTINGS).error_rate == 0.5
