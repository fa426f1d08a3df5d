"""Channels, notifications, health alerts, heartbeats and safe actions over the REST API.
(Error shapes of every bad input: tests/api/test_error_shape.py.)"""

from __future__ import annotations

import time

import orjson
import responses

from server.engine.tick import Engine
from server.sentinel.model import Clear, Finding, HealthWrites, Raise
from server.store import health_alerts, notifications
from server.store.db import write_transaction
from server.store.incidents import TickWrites
from tests.support.factories import T0, family
from tests.support.ticking import burst, family_traffic, store_events, tick_through

SLACK = "https://hooks.slack.com/services/T000/B000/abcdEFGHijkl"
CHECKOUT = family()


def add(client, headers, **body):
    return client.post("/v1/channels", json=body, headers=headers)


def test_channels_are_added_listed_and_removed_by_an_admin_and_never_show_their_secrets(client, auth):
    admin = auth("admin")
    slack = add(client, admin, type="slack", url=SLACK, name="ops", rules=[{"service": "payment",
                                                                            "events": ["opened", "resolved"]}])
    assert slack.status_code == 201
    body = slack.get_json()
    assert body["id"].startswith("chn_") and body["type"] == "slack" and body["name"] == "ops"
    assert body["url"] == "https://hooks.slack.com/…ijkl" and "abcdEFGH" not in slack.get_data(as_text=True)
    assert body["rules"] == [{"service": ["payment"], "events": ["opened", "resolved"]}]
    pd = add(client, admin, type="pagerduty", routing_key="R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY00").get_json()
    assert pd["url"].startswith("https://events.pagerduty.com/") and pd["secret_set"] is True
    assert "R0UT1NG" not in orjson.dumps(client.get("/v1/channels", headers=admin).get_json()).decode()
    listed = [c["id"] for c in client.get("/v1/channels", headers=admin).get_json()["channels"]]
    assert listed == [body["id"], pd["id"]]
    removed = client.delete(f"/v1/channels/{body['id']}", headers=admin)
    assert removed.status_code == 200 and removed.get_json()["removed_at"] is not None
    assert [c["id"] for c in client.get("/v1/channels", headers=admin).get_json()["channels"]] == [pd["id"]]
    assert client.delete(f"/v1/channels/{body['id']}", headers=admin).status_code == 404


def test_channels_need_the_admin_scope(client, auth):
    assert add(client, auth("respond"), type="slack", url=SLACK).status_code == 403
    assert client.get("/v1/channels", headers=auth("read")).status_code == 403


def test_notifications_and_the_incident_show_every_attempt(store, client, auth):
    channel = add(client, auth("admin"), type="webhook", url="https://hooks.example.test/onset").get_json()
    store_events(store, family_traffic(T0 - 300, T0 + 30, CHECKOUT) + burst(CHECKOUT, T0))
    tick_through(Engine(store, "e1"), T0 - 60, T0 + 10)
    [row] = notifications.list_notifications()
    [head] = notifications.due_heads(T0 + 20)
    assert notifications.claim(head, "w1", T0 + 20, T0 + 40, "{}")
    notifications.record_attempt(row["id"], "w1", notifications.Attempt(1, T0 + 20, 12.5, 503, "HTTP 503: busy",
                                                                        "retry", "server_error", 30.0),
                                 T0 + 50, "server_error", T0 + 21)
    read = auth("read")
    listed = client.get("/v1/notifications", headers=read).get_json()["notifications"]
    assert len(listed) == 1
    n = listed[0]
    assert (n["channel_id"], n["channel_type"], n["event"], n["state"], n["attempts"]) == (
        channel["id"], "webhook", "opened", "pending", 1)
    assert n["next_attempt_at"] == "2023-11-14T22:14:10.000Z"
    assert n["attempt_log"] == [{"attempt": 1, "started_at": "2023-11-14T22:13:40.000Z", "duration_ms": 12.5,
                                 "status_code": 503, "error": "HTTP 503: busy", "outcome": "retry",
                                 "reason": "server_error", "retry_after": 30.0}]
    incident = client.get(f"/v1/incidents/{n['subject_id']}", headers=read).get_json()
    assert [x["dedupe_key"] for x in incident["notifications"]] == [n["dedupe_key"]]
    assert incident["notifications"][0]["attempt_log"][0]["status_code"] == 503
    assert client.get("/v1/notifications?state=delivered", headers=read).get_json()["notifications"] == []
    assert len(client.get(f"/v1/notifications?incident={n['subject_id']}", headers=read).get_json()[
        "notifications"]) == 1


def raise_alert(key: str = "service_silent", scope: str = "service:payment@production", at: float | None = None):
    at = time.time() - 30 if at is None else at
    finding = Finding(key, scope, "payment (production) sent no events for 1 window (60s)", "payment",
                      "production", at - 60, {"baseline": 120})
    raised = Raise(f"hal_{key[:4]}{int(at)}", finding, at)
    with write_transaction():
        health_alerts.apply(HealthWrites([raised], []))
    return raised.alert_id


def test_health_alerts_are_listed_by_state_with_how_stale_the_data_is(client, auth):
    alert_id = raise_alert()
    read = auth("read")
    [alert] = client.get("/v1/health/alerts", headers=read).get_json()["health_alerts"]
    assert (alert["id"], alert["key"], alert["severity"], alert["state"]) == (alert_id, "service_silent", "critical",
                                                                              "active")
    assert 89 <= alert["staleness_seconds"] <= 120
    assert alert["raised_at"].endswith("Z") and alert["cleared_at"] is None
    assert client.get("/v1/health/alerts?state=cleared", headers=read).get_json()["health_alerts"] == []
    assert len(client.get("/v1/health/alerts?state=all", headers=read).get_json()["health_alerts"]) == 1
    detail = client.get(f"/v1/health/alerts/{alert_id}", headers=read).get_json()
    assert detail["action"] is None and detail["action_runs"] == [] and detail["notifications"] == []
    services = client.get("/v1/health/services", headers=read).get_json()["services"]
    assert services[0]["service"] == "payment" and services[0]["health"] in ("critical", "unknown")


def test_heartbeats_declare_and_beat(client, auth):
    first = client.post("/v1/heartbeats", json={"source": "etl.load", "interval_s": 30, "after": "etl.extract"},
                        headers=auth("ingest"))
    assert first.status_code == 200
    body = first.get_json()
    assert (body["source"], body["interval_s"], body["after"], body["beats"], body["late"]) == (
        "etl.load", 30, "etl.extract", 1, False)
    again = client.post("/v1/heartbeats", json={"source": "etl.load", "interval_s": 60}, headers=auth("ingest"))
    assert again.get_json()["beats"] == 2 and again.get_json()["after"] is None
    [listed] = client.get("/v1/heartbeats", headers=auth("read")).get_json()["heartbeats"]
    assert listed["interval_s"] == 60
    assert client.post("/v1/heartbeats", json={"source": "x", "interval_s": 5}, headers=auth("read")).status_code == 403


def test_a_safe_action_runs_only_when_a_person_confirms_and_records_who_and_the_answer(client, auth, make_key):
    admin = auth("admin")
    put = client.put("/v1/health/actions/service_silent", headers=admin,
                     json={"label": "Restart the payment consumer", "url": "https://ops.example.test/restart",
                           "secret": "s3cret"})
    assert put.status_code == 200 and put.get_json()["secret_set"] is True
    alert_id = raise_alert()
    responder = {"Authorization": f"Bearer {make_key('respond', name='alice')}"}
    assert client.post(f"/v1/health/alerts/{alert_id}/action", json={"confirm": False},
                       headers=responder).status_code == 400
    assert client.post(f"/v1/health/alerts/{alert_id}/action", json={"confirm": True},
                       headers=auth("read")).status_code == 403
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, "https://ops.example.test/restart", status=202, body="restarting consumer")
        run = client.post(f"/v1/health/alerts/{alert_id}/action", json={"confirm": True}, headers=responder)
        sent = mock.calls[0].request
    assert run.status_code == 200
    body = run.get_json()
    assert (body["triggered_by"], body["status_code"], body["answer"], body["ok"]) == (
        "alice", 202, "restarting consumer", True)
    assert sent.headers["X-Onset-Signature"].startswith("sha256=")
    payload = orjson.loads(sent.body)
    assert payload["triggered_by"] == "alice" and payload["health_alert"]["id"] == alert_id
    detail = client.get(f"/v1/health/alerts/{alert_id}", headers=auth("read")).get_json()
    assert detail["action"]["label"] == "Restart the payment consumer"
    assert [(r["triggered_by"], r["status_code"]) for r in detail["action_runs"]] == [("alice", 202)]
    assert "url" not in detail["action_runs"][0]


def test_a_cleared_alerts_action_is_refused(client, auth):
    client.put("/v1/health/actions/service_silent", headers=auth("admin"),
               json={"label": "Restart", "url": "https://ops.example.test/restart"})
    alert_id = raise_alert(at=T0)
    alert = health_alerts.active_alerts()[("service_silent", "service:payment@production")]
    with write_transaction():
        health_alerts.apply(HealthWrites([], [Clear(alert, T0 + 60, "traffic returned")]))
    response = client.post(f"/v1/health/alerts/{alert_id}/action", json={"confirm": True}, headers=auth("respond"))
    assert response.status_code == 409 and response.get_json()["error"]["code"] == "conflict"


def test_tick_writes_dataclass_stays_additive():
    # The fields other engine code builds TickWrites with keep their meaning; new ones default empty.
    writes = TickWrites()
    assert not writes and not writes.health and writes.notifications == []
