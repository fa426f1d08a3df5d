"""Alerts attach to incidents in the engine's tick, whichever arrives first, and show in the
incident, its evidence and its triage report. Real database (both backends), fake clock."""

from __future__ import annotations

import pytest

from server.engine.tick import Engine
from server.ingest.alerts import ingest_alerts
from server.store import alerts as alert_store
from server.store import incidents
from server.triage.lookup import report_for
from tests.support.alert_payloads import alertmanager_body
from tests.support.triage_traffic import T0, Fault, play, tick_until

DEPENDENCY = Fault(processor="timeout")


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "test-engine")


def send_alert(settings, payload, now: float, source: str = "onset") -> str:
    result = ingest_alerts(payload, source, settings, now)
    assert result["accepted"] == 1, result
    return result["alert_ids"][0]


def attached(incident_id: str) -> dict[str, str]:
    return {a["alert_id"]: a["match"] for a in alert_store.alerts_for_incident(incident_id)}


def test_alert_that_fired_before_the_onset_is_attached_and_shows_everywhere(store, engine, client, auth):
    alert_id = send_alert(store, {"name": "PaymentErrors", "service": "payment", "env": "prod",
                                  "severity": "critical", "summary": "payment 5xx above 5%",
                                  "starts_at": T0 - 60}, T0 - 50)
    played = play(store, engine, DEPENDENCY)
    assert attached(played.incident_id) == {alert_id: "service"}

    detail = client.get(f"/v1/incidents/{played.incident_id}", headers=auth("read")).get_json()
    (alert,) = detail["alerts"]
    assert (alert["alert_id"], alert["name"], alert["status"], alert["match"]) == (
        alert_id, "PaymentErrors", "firing", "service")
    assert f"alert:{alert_id}" in {e["id"] for e in detail["evidence"]}

    report = report_for(played.incident_id)
    (item,) = report["alerts"]["items"]
    assert report["alerts"]["status"] == "ok"
    assert item["id"] == f"alert:{alert_id}" and item["match"] == "service"
    assert item["summary"].startswith("Onset alert PaymentErrors (critical) on payment: payment 5xx above 5%")
    assert "before the onset" in item["summary"] and "still firing" in item["summary"]
    assert any(e["id"] == f"alert:{alert_id}" and e["kind"] == "alert" for e in report["evidence"])


def test_alert_arriving_after_the_incident_attaches_next_tick_and_changes_the_fingerprint(store, engine):
    played = play(store, engine, DEPENDENCY)
    before = report_for(played.incident_id)
    assert before["alerts"]["items"] == []

    body = alertmanager_body("firing-single")
    body["alerts"][0]["startsAt"] = T0 + 60
    body["alerts"][0]["labels"]["env"] = "production"
    alert_id = send_alert(store, body, T0 + 61, "alertmanager")
    tick_until(engine, T0 + 70, T0 + 70)
    after = report_for(played.incident_id)
    assert [i["id"] for i in after["alerts"]["items"]] == [f"alert:{alert_id}"]
    assert after["evidence_fingerprint"] != before["evidence_fingerprint"]

    # Resolved: the same evidence (fingerprint kept), a new state (hash moves).
    resolved = alertmanager_body("resolved-single")
    resolved["alerts"][0].update(startsAt=T0 + 60, endsAt=T0 + 75)
    resolved["alerts"][0]["labels"]["env"] = "production"
    assert send_alert(store, resolved, T0 + 76, "alertmanager") == alert_id
    tick_until(engine, T0 + 80, T0 + 80)
    final = report_for(played.incident_id)
    (item,) = final["alerts"]["items"]
    assert item["status"] == "resolved" and item["summary"].endswith("fired 55s after the onset, resolved 70s after the onset")
    assert final["evidence_fingerprint"] == after["evidence_fingerprint"]
    assert final["report_hash"] != after["report_hash"]
    assert [a["status"] for a in alert_store.alerts_for_incident(played.incident_id)] == ["resolved"]


def test_alerts_by_error_code_or_trace_attach_whatever_their_service(store, engine):
    by_code = send_alert(store, {"name": "CardTimeouts", "error_code": "timeout", "starts_at": T0 - 3000}, T0 - 60)
    by_trace = send_alert(store, {"name": "SlowTrace", "service": "edge", "trace_id": "f003",
                                  "starts_at": T0 + 6}, T0 - 60)
    played = play(store, engine, DEPENDENCY)
    tick_until(engine, T0 + 40, T0 + 40)
    assert attached(played.incident_id) == {by_code: "error_code", by_trace: "trace_id"}


def test_an_unrelated_alert_is_kept_and_listed_but_opens_nothing(store, engine):
    lonely = send_alert(store, {"name": "DiskFull", "service": "inventory", "starts_at": T0 - 30}, T0 - 30)
    tick_until(engine, T0 - 20, T0)  # no traffic: alerts alone never open an incident
    assert incidents.list_incidents() == []
    played = play(store, engine, DEPENDENCY)
    assert attached(played.incident_id) == {}
    (alert,) = alert_store.list_alerts("firing")
    assert alert["alert_id"] == lonely and alert["incidents"] == []


def test_alert_of_another_env_or_far_from_the_onset_stays_apart(store, engine):
    send_alert(store, {"name": "PaymentErrors", "service": "payment", "env": "staging", "starts_at": T0}, T0)
    send_alert(store, {"name": "PaymentOld", "service": "payment", "starts_at": T0 - 3600}, T0)
    played = play(store, engine, DEPENDENCY)
    tick_until(engine, T0 + 40, T0 + 40)
    assert attached(played.incident_id) == {}
