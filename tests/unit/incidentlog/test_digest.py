"""incidentlog/digest.py: a week's facts, the same in JSON and in Markdown."""

from __future__ import annotations

import pytest

from server.incidentlog.digest import build_digest, previous_week, render_markdown, week_bounds, week_of
from server.timefmt import iso

START, END = week_bounds("2026-W47")


def incident(incident_id: str, onset: float, *, service: str = "payment", cause: str = "dependency",
             severity: str | None = "P1", state: str = "resolved", detect: float = 10, ack: float | None = 120,
             resolve: float | None = 3600, families=("payment/POST /charge/http_502",), similar=()) -> dict:
    return {"id": incident_id, "state": state, "kind": "errors", "service": service, "env": "production",
            "step": "POST /charge", "error_code": "http_502", "onset": onset, "opened_at": onset + detect,
            "acknowledged_at": onset + detect + ack if ack is not None else None,
            "resolved_at": onset + resolve if resolve is not None else None, "severity": severity, "cause": cause,
            "confidence": "high", "title": None, "families": list(families), "similar": list(similar)}


def digest() -> dict:
    earlier = {"id": "inc_before", "onset": START - 86400, "score": 0.8, "reason": "same family payment/x",
               "match": "same_family"}
    incidents = [
        incident("inc_a", START + 3600, similar=[earlier]),
        incident("inc_b", START + 86400, detect=30, ack=600, resolve=7200),
        incident("inc_c", START + 2 * 86400, service="checkout", cause="deploy", severity="P3", state="active",
                 ack=None, resolve=None, families=("checkout/POST /checkout/E500",)),
    ]
    overdue = [{"id": "fu_1", "incident_id": "inc_a", "title": "add retries", "owner": "bob", "due_at": START + 2,
                "service": "payment"}]
    silent = [{"service": "search", "env": "production", "raised_at": START + 100, "cleared_at": None,
               "reason": "no events for 2 windows"}]
    return build_digest("2026-W47", START, END, END, incidents, overdue, silent)


def test_iso_weeks_start_on_monday_utc():
    assert iso(START) == "2026-11-16T00:00:00.000Z" and END - START == 7 * 86400
    assert week_of(START + 3) == "2026-W47" and previous_week(START + 3) == "2026-W46"
    for bad in ("2026-47", "2026-W54", "W47", "2026-W00"):
        with pytest.raises(ValueError):
            week_bounds(bad)


def test_incidents_are_counted_by_service_cause_and_severity():
    counts = digest()["incidents"]
    assert counts["total"] == 3
    assert counts["by_service"] == {"payment": 2, "checkout": 1}
    assert counts["by_cause"] == {"dependency": 2, "deploy": 1}
    assert counts["by_severity"] == {"P1": 2, "P3": 1}


def test_mean_and_worst_times_count_only_what_happened():
    times = digest()["times"]
    assert times["detect"] == {"count": 3, "mean_seconds": 16.667, "worst_seconds": 30.0, "worst_incident": "inc_b"}
    assert times["acknowledge"]["count"] == 2 and times["acknowledge"]["worst_incident"] == "inc_b"
    assert times["resolve"] == {"count": 2, "mean_seconds": 5400.0, "worst_seconds": 7200.0, "worst_incident": "inc_b"}


def test_recurrences_overdue_followups_and_silent_services():
    d = digest()
    assert d["recurring_families"] == [{"family": "payment/POST /charge/http_502", "incidents": ["inc_a", "inc_b"],
                                        "count": 2}]
    assert d["repeats"][0]["incident"] == "inc_a" and d["repeats"][0]["similar_to"] == "inc_before"
    assert d["overdue_followups"][0]["id"] == "fu_1"
    assert d["silent_services"][0]["service"] == "search"


def test_markdown_holds_the_same_facts():
    d = digest()
    out = render_markdown(d)
    assert out.startswith("# Onset digest 2026-W47\n")
    for fact in ("Incidents: 3", "payment 2", "checkout 1", "deploy 1", "P3 1", "`inc_b`", "2h", "add retries",
                 "search", "(still silent)", "repeats `inc_before`", "score 0.80"):
        assert fact in out, fact
    assert render_markdown(d) == out
