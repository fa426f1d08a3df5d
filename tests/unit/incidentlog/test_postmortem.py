"""incidentlog/postmortem.py: a deterministic Markdown draft from an incident's record."""

from __future__ import annotations

from server.incidentlog.postmortem import detection_times, render_postmortem
from server.triage.report import build_report
from tests.support.triage_state import T0, incident_state

ENTRIES = [
    {"id": "tr_1", "kind": "status", "author": "onset", "source": "onset", "ts": T0 + 10,
     "body": "opened: families spiked", "data": {}},
    {"id": "tl_2", "kind": "acknowledge", "author": "alice", "source": "person", "ts": T0 + 70, "body": "acknowledged",
     "data": {}},
    {"id": "tl_3", "kind": "note", "author": "bob", "source": "person", "ts": T0 + 80,
     "body": "card-processor | status page is red", "data": {}},
]
FOLLOWUPS = [{"id": "fu_1", "title": "add a circuit breaker", "owner": "bob", "due_at": T0 + 86400 * 7,
              "due_date": "2023-11-21", "status": "open", "created_at": T0 + 90}]
ARTIFACTS = [{"id": "art_1", "name": "excerpt.log", "content_type": "text/plain", "size": 120, "author": "alice",
              "sha256": "ab" * 32, "created_at": T0 + 95}]


def state() -> dict:
    return {**incident_state(state="resolved"), "resolved_at": T0 + 3610, "acknowledged_at": T0 + 70,
            "acknowledged_by": "alice", "assignee": "bob", "severity": "P1", "severity_source": "derived",
            "severity_reason": "error rate 30.0% reaches P2", "manual_state": "resolved", "manual_by": "alice",
            "manual_reason": "rolled back", "owner": {"name": "payment", "team": "payments", "channel": "#pay",
                                                      "runbook_url": "https://wiki.example.com/payment"}}


def draft() -> str:
    incident = state()
    report = build_report(incident, incident["snapshots"], generator="onset test")
    return render_postmortem(incident, report, ENTRIES, FOLLOWUPS, ARTIFACTS)


def test_the_same_incident_gives_the_same_bytes():
    assert draft() == draft()


def test_every_section_is_there_in_order():
    out = draft()
    headings = [line for line in out.splitlines() if line.startswith("#")]
    assert headings == ["# Postmortem: payment POST /charge upstream\\_timeout", "## Summary", "## Impact",
                        "## Detection", "## Timeline", "## Cause", "### Cited evidence", "## What went well",
                        "## What went badly", "## Where we got lucky", "## Follow-ups", "## Artifacts"]


def test_detection_times_and_who_did_what():
    out = draft()
    assert detection_times(state()) == {"detect": 5.0, "acknowledge": 60.0, "resolve": 3605.0}
    assert "- Time to detect: 5s (onset → opened)" in out
    assert "- Time to acknowledge: 60s (opened → acknowledged)" in out
    assert "- Time to resolve: 60m (onset → resolved)" in out
    assert "| alice | acknowledge: acknowledged |" in out
    assert "| bob | note: card-processor \\| status page is red |" in out  # a pipe cannot break the table
    assert "- **Acknowledged by:** alice · **Assigned to:** bob" in out
    assert "[runbook](<https://wiki.example.com/payment>)" in out
    assert "- [ ] add a circuit breaker (owner bob, due 2023-11-21) `fu_1`" in out
    assert "excerpt.log (text/plain, 120 bytes, by alice" in out
