"""Blast snapshot: failed and total requests, trend, users, services, entry points."""

from __future__ import annotations

import pytest

from server.engine.model import Family
from server.evidence import blast
from server.evidence.blast import FamilyCounts, Trend, blast_snapshot
from tests.support.triage_state import ONSET, PAYMENT, failing_trace, trace_event

TREND = Trend(60.0, (12, 40), (1, 40))


def events_of(n: int, users: bool = True):
    return [e for i in range(n) for e in failing_trace(f"t{i}", ONSET + i, user=f"u{i % 4}" if users else None)
            if e.failed]


def snap(events, traces=None, counts=None, total=40, trend=TREND):
    traces = traces if traces is not None else sorted({(e.trace_id, ONSET) for e in events})
    return blast_snapshot(counts or [FamilyCounts(PAYMENT, 12, 40, ONSET)], total, trend, traces, events)


def test_counts_users_services_and_entry_points():
    s = snap(events_of(6))
    assert s["status"] == "ok"
    assert s["requests"] == {"failed": 12, "total": 40} and s["error_rate"] == 0.3
    assert s["users"] == 4
    assert s["services"][0] == {"service": "checkout", "failing_traces": 6, "failing_events": 12}
    assert [x["service"] for x in s["services"]] == ["checkout", "gateway", "payment"]
    assert s["entry_points"] == [{"service": "gateway", "step": "POST /api/checkout", "traces": 6}]
    assert s["by_family"][0]["id"] == PAYMENT.evidence_id and s["by_family"][0]["error_rate"] == 0.3
    assert len(s["sample_traces"]) == 5 and s["traces_counted"] == 6


def test_without_user_ids_users_are_unknown_not_zero():
    assert snap(events_of(3, users=False))["users"] is None


def test_lists_are_capped_and_count_what_they_left_out(monkeypatch):
    monkeypatch.setattr(blast, "MAX_SERVICES", 2)
    s = snap(events_of(3))
    assert len(s["services"]) == 2 and s["services_left_out"] == 1


def test_no_trace_ids_is_partial_and_says_what_is_not_counted():
    s = snap([], traces=[])
    assert s["status"] == "partial" and "no failing event carries a trace id" in s["status_reason"]
    assert s["users"] is None and s["services"] == []


def test_counting_over_a_sample_of_traces_says_so(monkeypatch):
    monkeypatch.setattr(blast, "TRACE_SAMPLE", 2)
    s = snap(events_of(2), traces=[("t0", ONSET), ("t1", ONSET + 1)])
    assert s["status"] == "partial" and "first 2 failing traces" in s["status_reason"]


def test_no_family_is_missing():
    s = blast_snapshot([], 0, TREND, [], [])
    assert s["status"] == "missing" and s["status_reason"] == "no failing requests match"


@pytest.mark.parametrize(("current", "previous", "direction"), [
    (0, 10, "stopped"), (10, 0, "rising"), (20, 10, "rising"), (10, 10, "steady"), (11, 10, "steady"),
    (5, 10, "falling"),
])
def test_trend_direction(current, previous, direction):
    assert Trend(60, (current, 100), (previous, 100)).direction == direction


def test_entry_point_is_the_root_of_the_failing_path_even_when_it_is_a_different_step():
    events = [trace_event("a", "r", None, "mobile-api", "GET /cart", ts=ONSET),
              trace_event("a", "c", "r", "checkout", "POST /checkout", ts=ONSET + 0.1)]
    s = snap(events, counts=[FamilyCounts(Family("checkout", "production", "POST /checkout", "E502"), 1, 2, ONSET)])
    assert s["entry_points"] == [{"service": "mobile-api", "step": "GET /cart", "traces": 1}]
