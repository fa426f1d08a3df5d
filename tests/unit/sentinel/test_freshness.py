"""sentinel.freshness + reconcile: service_silent and rate_collapse from counts per window."""

from __future__ import annotations

from server.sentinel.freshness import COLLAPSE, SILENT, FreshnessSettings, ServiceTraffic, check_freshness
from server.sentinel.model import ActiveAlert, service_scope
from server.sentinel.reconcile import reconcile

T0 = 1_700_000_000.0
SETTINGS = FreshnessSettings(baseline_windows=5, min_events=10, silent_windows=1, collapse_fraction=0.2,
                             window_seconds=60)
SCOPE = service_scope("payment", "production")


def traffic(*windows: int, recent: float | None = None, last_seen: float | None = T0) -> ServiceTraffic:
    """Counts per window; `recent` (the newest buckets' rate per window) defaults to the last one."""
    return ServiceTraffic("payment", "production", tuple(windows), windows[-1] if recent is None else recent,
                          last_seen)


def active(key: str, baseline: float = 100, reason: str = "was bad") -> dict:
    return {(key, SCOPE): ActiveAlert(f"hal_{key}", key, SCOPE, "critical", "payment", "production", reason,
                                      {"baseline": baseline}, T0 - 60, T0 - 30)}


def test_a_steady_service_that_sends_nothing_for_a_window_is_silent():
    result = check_freshness([traffic(100, 110, 90, 100, 105, 0, recent=0)], {}, SETTINGS, T0)
    finding = result.bad[(SILENT, SCOPE)]
    assert finding.severity == "critical"
    assert finding.stale_since == T0
    assert finding.details["baseline"] == 100
    assert "sent no events for 1 window (60s)" in finding.reason
    writes = reconcile(result, {}, T0)
    assert [r.finding.key for r in writes.raises] == [SILENT] and not writes.clears


def test_a_service_without_steady_traffic_is_never_silent():
    result = check_freshness([traffic(3, 0, 5, 2, 4, 0, recent=0)], {}, SETTINGS, T0)
    assert not result.bad


def test_silent_clears_as_soon_as_traffic_returns_and_the_refilling_window_is_no_collapse():
    result = check_freshness([traffic(100, 100, 100, 100, 0, 2, recent=100)], active(SILENT), SETTINGS, T0)
    assert not result.bad
    writes = reconcile(result, active(SILENT), T0)
    assert writes.clears[0].reason == "traffic returned: 2 events in the current window"


def test_silent_stays_while_its_service_is_gone_even_beyond_the_lookback():
    assert (SILENT, SCOPE) in check_freshness([], active(SILENT), SETTINGS, T0).bad


def test_a_collapse_below_the_fraction_of_the_baseline_is_a_warning():
    result = check_freshness([traffic(100, 100, 100, 100, 100, 10, recent=9)], {}, SETTINGS, T0)
    finding = result.bad[(COLLAPSE, SCOPE)]
    assert finding.severity == "warning"
    assert finding.details["baseline"] == 100 and finding.details["current"] == 10
    assert "10% of its baseline" in finding.reason


def test_a_clean_stop_draining_its_window_is_not_a_collapse():
    # 10 events left in the window, none in its newest buckets: the service stopped.
    assert not check_freshness([traffic(100, 100, 100, 100, 100, 10, recent=0)], {}, SETTINGS, T0).bad


def test_a_collapse_is_judged_against_its_frozen_baseline_until_it_recovers():
    # The baseline has decayed to the collapsed rate; the frozen one (100) still holds it.
    still = check_freshness([traffic(10, 10, 10, 10, 10, 12)], active(COLLAPSE, 100), SETTINGS, T0)
    assert (COLLAPSE, SCOPE) in still.bad
    back = check_freshness([traffic(10, 10, 10, 10, 10, 25)], active(COLLAPSE, 100), SETTINGS, T0)
    assert not back.bad
    assert back.clear_reasons[(COLLAPSE, SCOPE)] == "rate recovered: 25 events in the current window, at least 20"


def test_a_collapsed_service_that_then_stops_is_silent_too():
    result = check_freshness([traffic(10, 10, 10, 10, 10, 0, recent=0)], active(COLLAPSE, 100), SETTINGS, T0)
    assert {(COLLAPSE, SCOPE), (SILENT, SCOPE)} <= set(result.bad)
    assert result.bad[(SILENT, SCOPE)].details["baseline"] == 100


def test_silent_windows_counts_whole_windows_without_events():
    two = FreshnessSettings(5, 10, 2, 0.2, 60)
    assert not check_freshness([traffic(100, 100, 100, 100, 100, 50, 0, recent=0)], {}, two, T0).bad
    assert (SILENT, SCOPE) in check_freshness([traffic(100, 100, 100, 100, 100, 0, 0, recent=0)], {}, two, T0).bad


def test_reconcile_never_touches_keys_the_check_does_not_own():
    other = {("heartbeat_missed", "heartbeat:etl"): ActiveAlert("hal_x", "heartbeat_missed", "heartbeat:etl",
                                                                 "critical", None, None, "late", {}, None, T0)}
    writes = reconcile(check_freshness([], {}, SETTINGS, T0), other, T0)
    assert not writes.raises and not writes.clears
