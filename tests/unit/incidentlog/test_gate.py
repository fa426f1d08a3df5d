"""incidentlog/gate.py: a service is held by an open P1/P2 incident or an overdue follow-up, each named."""

from __future__ import annotations

from server.incidentlog.gate import gate


def incident(state: str = "active", severity: str | None = "P1", incident_id: str = "inc_1") -> dict:
    return {"id": incident_id, "state": state, "severity": severity, "service": "payment", "step": "POST /charge",
            "error_code": "http_502"}


OVERDUE = {"id": "fu_1", "incident_id": "inc_0", "title": "add retries", "owner": "bob", "due_at": 1.0,
           "due_date": "2026-11-20"}


def test_an_open_p1_or_p2_incident_holds_the_service():
    for state in ("active", "recovering"):
        for severity in ("P1", "P2"):
            verdict = gate("payment", [incident(state, severity)], [])
            assert verdict.blocked
            assert verdict.reasons == (f"inc_1 is {state} with severity {severity}"
                                       " (payment POST /charge http_502)",)


def test_p3_p4_resolved_or_not_yet_rated_incidents_do_not():
    found = [incident(severity="P3"), incident(severity="P4"), incident(severity=None), incident("resolved", "P1")]
    assert gate("payment", found, []).blocked is False


def test_an_overdue_followup_holds_the_service_too():
    verdict = gate("payment", [], [OVERDUE])
    assert verdict.blocked
    assert verdict.reasons == ("follow-up fu_1 of inc_0 is overdue (was due 2026-11-20): add retries, owner bob",)


def test_nothing_open_lets_it_ship():
    assert gate("payment", [], []).as_dict() == {"service": "payment", "blocked": False, "reasons": []}
