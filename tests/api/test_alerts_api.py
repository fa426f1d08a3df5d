"""POST /v1/alerts[/{source}] and GET /v1/alerts: auth (bearer, basic, signatures), storage
with dedupe by identity, partly bad groups, and 503 (never 429) for transient trouble."""

from __future__ import annotations

import base64
import json

import peewee
import pytest

from server.app import create_app
from server.errors import ApiError, Overloaded
from server.store import alerts as alert_store
from server.store import db
from tests.conftest import make_settings
from tests.support.alert_payloads import (
    alertmanager_body,
    alertmanager_capture,
    grafana_body,
    hmac_hex,
    pagerduty_body,
    pagerduty_note,
)
from tests.support.error_shape import assert_error_shape

PD_SECRET = "pd-webhook-secret"
GRAFANA_SECRET = "grafana-hmac-secret"


def stored_alerts() -> list[dict]:
    return alert_store.list_alerts(limit=1000)


def basic(key: str, user: str = "alertmanager") -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{key}".encode()).decode()}


@pytest.fixture
def ingest(make_key):
    return {"Authorization": f"Bearer {make_key('ingest')}"}


@pytest.fixture
def signed_client(store, tmp_path):
    """An app with the PagerDuty and Grafana secrets set."""
    settings = make_settings(store.database_url, str(tmp_path / "data"), pagerduty_webhook_secret=PD_SECRET,
                             grafana_webhook_secret=GRAFANA_SECRET)
    return create_app(settings).test_client()


# -- intake and storage ------------------------------------------------------------------------

def test_alertmanager_capture_is_stored_with_its_headers(client, make_key):
    capture = alertmanager_capture("firing-single")
    headers = {**capture["headers"], "Authorization": f"Bearer {make_key('ingest')}"}
    response = client.post("/v1/alerts/alertmanager", data=json.dumps(capture["body"]), headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.get_json()
    assert body["source"] == "alertmanager" and body["accepted"] == 1 and body["rejected"] == []
    (alert,) = stored_alerts()
    assert alert["alert_id"] == body["alert_ids"][0]
    assert (alert["name"], alert["service"], alert["env"], alert["status"]) == ("HighErrorRate", "payment", "prod",
                                                                               "firing")


def test_sender_is_detected_on_the_generic_route(client, ingest):
    for payload, source in ((alertmanager_body("firing-single"), "alertmanager"), (grafana_body(), "grafana"),
                            (pagerduty_body(), "pagerduty"), ({"name": "Disk", "service": "db"}, "onset")):
        response = client.post("/v1/alerts", json=payload, headers=ingest)
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.get_json()["source"] == source
    assert {a["source"] for a in stored_alerts()} == {"alertmanager", "grafana", "pagerduty", "onset"}


def test_repeated_firing_updates_one_alert_and_resolved_closes_it(client, ingest):
    for _ in range(3):
        assert client.post("/v1/alerts/alertmanager", json=alertmanager_body("firing-single"),
                           headers=ingest).status_code == 200
    (alert,) = stored_alerts()
    assert alert["status"] == "firing" and alert["notifications"] == 3 and alert["resolved_at"] is None
    assert client.post("/v1/alerts/alertmanager", json=alertmanager_body("resolved-single"),
                       headers=ingest).status_code == 200
    (alert,) = stored_alerts()
    assert alert["status"] == "resolved" and alert["notifications"] == 4
    assert alert["ends_at"] is not None and alert["resolved_at"] is not None


def test_same_labels_firing_again_later_is_a_new_alert(client, ingest):
    client.post("/v1/alerts/alertmanager", json=alertmanager_body("resolved-single"), headers=ingest)
    again = alertmanager_body("firing-single")
    again["alerts"][0]["startsAt"] = "2026-11-22T16:00:00Z"
    client.post("/v1/alerts/alertmanager", json=again, headers=ingest)
    assert sorted(a["status"] for a in stored_alerts()) == ["firing", "resolved"]


def test_truncated_group_reports_the_alerts_left_out(client, ingest):
    response = client.post("/v1/alerts", json=alertmanager_body("firing-group-truncated"), headers=ingest)
    assert response.get_json()["truncated_alerts"] == 1
    assert len(stored_alerts()) == 2


def test_partly_bad_group_keeps_the_good_alerts_and_names_the_bad_ones(client, ingest):
    body = alertmanager_body("firing-group-truncated")
    body["alerts"][0]["status"] = "pending"
    response = client.post("/v1/alerts/alertmanager", json=body, headers=ingest)
    assert response.status_code == 200
    assert response.get_json()["rejected"] == [{"index": 0, "fields": {"status": ["must be one of firing, resolved"]}}]
    assert [a["fingerprint"] for a in stored_alerts()] == ["e85b92c4ccfa7650"]


def test_all_bad_group_is_400_and_stores_nothing(client, ingest):
    body = alertmanager_body("firing-single")
    body["alerts"][0]["startsAt"] = "not a time"
    response = client.post("/v1/alerts/alertmanager", json=body, headers=ingest)
    error = assert_error_shape(response, 400, "startsAt")
    assert "rejected" in error["message"]
    assert stored_alerts() == []


def test_pagerduty_incident_lifecycle_is_one_alert(client, ingest):
    client.post("/v1/alerts/pagerduty", json=pagerduty_body(), headers=ingest)
    client.post("/v1/alerts/pagerduty", json=pagerduty_body("incident.acknowledged", status="acknowledged"),
                headers=ingest)
    response = client.post("/v1/alerts/pagerduty", json=pagerduty_note(), headers=ingest)
    assert response.status_code == 200 and len(response.get_json()["ignored"]) == 1
    client.post("/v1/alerts/pagerduty", json=pagerduty_body("incident.resolved"), headers=ingest)
    (alert,) = stored_alerts()
    assert alert["status"] == "resolved" and alert["notifications"] == 3
    assert alert["links"]["generator"] == "https://acme.pagerduty.com/incidents/Q2K5W8ZGKE1N7V"


def test_gzipped_alert_body_is_read(client, ingest):
    import gzip

    data = gzip.compress(json.dumps(alertmanager_body("firing-single")).encode())
    response = client.post("/v1/alerts", data=data, headers={**ingest, "Content-Encoding": "gzip",
                                                             "Content-Type": "application/json"})
    assert response.status_code == 200 and response.get_json()["accepted"] == 1


def test_unknown_source_is_404_naming_it(client, ingest):
    assert_error_shape(client.post("/v1/alerts/nagios", json={}, headers=ingest), 404, "source")


# -- listing -----------------------------------------------------------------------------------

def test_list_filters_by_status_source_and_service(client, ingest, auth):
    client.post("/v1/alerts", json=alertmanager_body("firing-group-truncated"), headers=ingest)
    client.post("/v1/alerts", json=alertmanager_body("resolved-single"), headers=ingest)
    client.post("/v1/alerts", json={"name": "Disk", "service": "db"}, headers=ingest)
    reader = auth("read")

    def names(query: str) -> list[str]:
        response = client.get(f"/v1/alerts{query}", headers=reader)
        assert response.status_code == 200, response.get_data(as_text=True)
        return sorted(a["name"] for a in response.get_json()["alerts"])

    assert names("?status=firing") == ["Disk", "TargetDown", "TargetDown"]
    assert names("?status=resolved") == ["HighErrorRate"]
    assert names("") == names("?status=all") == ["Disk", "HighErrorRate", "TargetDown", "TargetDown"]
    assert names("?source=onset") == ["Disk"]
    assert names("?service=inventory&status=firing") == ["TargetDown", "TargetDown"]
    alert = client.get("/v1/alerts?status=resolved", headers=reader).get_json()["alerts"][0]
    assert alert["starts_at"] == "2026-11-22T15:37:56.000Z" and alert["ends_at"] == "2026-11-22T15:37:58.000Z"
    assert alert["incidents"] == []


@pytest.mark.parametrize(("query", "field"), [("?status=open", "status"), ("?source=nagios", "source"),
                                               ("?limit=0", "limit")])
def test_bad_list_filters_name_the_field(client, auth, query, field):
    assert_error_shape(client.get(f"/v1/alerts{query}", headers=auth("read")), 400, field)


# -- authentication ----------------------------------------------------------------------------

@pytest.mark.parametrize("path", ["/v1/alerts", "/v1/alerts/alertmanager", "/v1/alerts/grafana"])
def test_basic_auth_carries_the_key_as_password(client, make_key, path):
    key = make_key("ingest")
    response = client.post(path, json=alertmanager_body("firing-single"), headers=basic(key))
    assert response.status_code == 200, response.get_data(as_text=True)
    response = client.post(path, json=alertmanager_body("firing-single"), headers=basic(key, user=""))
    assert response.status_code == 200  # the username is ignored


def test_basic_auth_with_a_wrong_key_or_no_password_is_401(client, make_key):
    for headers in (basic("onk_not_a_key"), {"Authorization": "Basic " + base64.b64encode(b"onlyuser").decode()},
                    {"Authorization": "Basic %%%"}):
        response = client.post("/v1/alerts", json=alertmanager_body("firing-single"), headers=headers)
        assert_error_shape(response, 401)
        assert "Basic" in response.headers["WWW-Authenticate"]


def test_basic_auth_needs_the_ingest_scope(client, make_key):
    assert_error_shape(client.post("/v1/alerts", json={"name": "x"}, headers=basic(make_key("read"))), 403, "scope")


def test_basic_auth_is_not_accepted_on_other_routes(client, make_key):
    response = client.post("/v1/events", json=[{"service": "a", "step": "b"}], headers=basic(make_key("ingest")))
    assert_error_shape(response, 401)


# -- signatures --------------------------------------------------------------------------------

def _pd_request(body: dict, signature: str | None) -> dict:
    data = json.dumps(body).encode()
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["X-PagerDuty-Signature"] = signature.format(hmac_hex(PD_SECRET, data))
    return {"data": data, "headers": headers}


def test_signed_pagerduty_webhook_needs_no_key(signed_client):
    response = signed_client.post("/v1/alerts/pagerduty", **_pd_request(pagerduty_body(), "v1={}"))
    assert response.status_code == 200, response.get_data(as_text=True)
    assert len(stored_alerts()) == 1


def test_pagerduty_signature_may_be_one_of_several(signed_client):
    response = signed_client.post("/v1/alerts/pagerduty", **_pd_request(pagerduty_body(), "v1=00ff,v1={}"))
    assert response.status_code == 200


@pytest.mark.parametrize("signature", [None, "v1=" + "0" * 64, "v1={}0", "v0={}"])
def test_pagerduty_webhook_with_a_bad_signature_is_401_and_stores_nothing(signed_client, signature):
    response = signed_client.post("/v1/alerts/pagerduty", **_pd_request(pagerduty_body(), signature))
    assert_error_shape(response, 401, "X-PagerDuty-Signature")
    assert stored_alerts() == []


def test_pagerduty_payload_on_the_generic_route_is_checked_too(signed_client, make_key):
    request = _pd_request(pagerduty_body(), "v1=" + "0" * 64)
    request["headers"]["Authorization"] = f"Bearer {make_key('ingest')}"
    assert_error_shape(signed_client.post("/v1/alerts", **request), 401, "X-PagerDuty-Signature")


def test_signature_covers_the_raw_bytes(signed_client):
    request = _pd_request(pagerduty_body(), "v1={}")
    request["data"] = request["data"].replace(b": ", b":")  # same JSON, other bytes
    assert_error_shape(signed_client.post("/v1/alerts/pagerduty", **request), 401)


def test_unsigned_pagerduty_route_needs_a_key_without_a_secret(client, ingest):
    assert_error_shape(client.post("/v1/alerts/pagerduty", json=pagerduty_body()), 401)
    assert client.post("/v1/alerts/pagerduty", json=pagerduty_body(), headers=ingest).status_code == 200


@pytest.mark.parametrize("header", ["X-Grafana-Alert-Signature", "X-Grafana-Alerting-Signature"])
def test_grafana_signature_is_verified_when_a_secret_is_set(signed_client, make_key, header):
    data = json.dumps(grafana_body()).encode()
    key = {"Authorization": f"Bearer {make_key('ingest')}", "Content-Type": "application/json"}
    good = signed_client.post("/v1/alerts/grafana", data=data, headers={**key, header: hmac_hex(GRAFANA_SECRET, data)})
    assert good.status_code == 200, good.get_data(as_text=True)
    bad = signed_client.post("/v1/alerts", data=data, headers={**key, header: hmac_hex("nope", data)})
    assert_error_shape(bad, 401, "X-Grafana-Alert-Signature")
    assert_error_shape(signed_client.post("/v1/alerts/grafana", data=data, headers=key), 401)


def test_grafana_signature_header_name_and_timestamp_are_configurable(store, tmp_path, make_key):
    settings = make_settings(store.database_url, str(tmp_path / "data"), grafana_webhook_secret=GRAFANA_SECRET,
                             grafana_signature_header="X-Sig", grafana_timestamp_header="X-Sig-Time")
    client = create_app(settings).test_client()
    data = json.dumps(grafana_body()).encode()
    headers = {"Authorization": f"Bearer {make_key('ingest')}", "Content-Type": "application/json",
               "X-Sig-Time": "1795361876", "X-Sig": hmac_hex(GRAFANA_SECRET, b"1795361876:" + data)}
    assert client.post("/v1/alerts/grafana", data=data, headers=headers).status_code == 200
    headers["X-Sig-Time"] = "1795361877"
    assert_error_shape(client.post("/v1/alerts/grafana", data=data, headers=headers), 401, "X-Sig")


def test_grafana_key_is_still_required_with_a_signature(signed_client):
    data = json.dumps(grafana_body()).encode()
    response = signed_client.post("/v1/alerts/grafana", data=data, headers={
        "Content-Type": "application/json", "X-Grafana-Alert-Signature": hmac_hex(GRAFANA_SECRET, data)})
    assert_error_shape(response, 401)


# -- transient trouble: 503 + Retry-After, never 429 -------------------------------------------

def test_busy_database_answers_503_with_retry_after(client, ingest, monkeypatch):
    def locked(*args, **kwargs):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(alert_store, "upsert_alerts", locked)
    response = client.post("/v1/alerts", json=alertmanager_body("firing-single"), headers=ingest)
    assert response.status_code == 503
    assert response.headers["Retry-After"].isdigit()
    assert response.get_json()["error"]["code"] == "overloaded"


def test_rate_limit_on_alerts_answers_503_never_429(client, ingest, monkeypatch):
    import server.api.alerts as alerts_api

    def limited(*args, **kwargs):
        raise Overloaded("over the ingest rate limit", retry_after=7, status=429)

    monkeypatch.setattr(alerts_api, "ingest_alerts", limited)
    for path in ("/v1/alerts", "/v1/alerts/alertmanager", "/v1/alerts/grafana", "/v1/alerts/onset"):
        response = client.post(path, json=alertmanager_body("firing-single"), headers=ingest)
        assert response.status_code == 503, path
        assert response.headers["Retry-After"] == "7"


def test_any_429_raised_under_alerts_becomes_503(client, ingest, monkeypatch):
    import server.api.alerts as alerts_api

    def limited(*args, **kwargs):
        raise ApiError("slow down", status=429, code="rate_limited")

    monkeypatch.setattr(alerts_api, "ingest_alerts", limited)
    response = client.post("/v1/alerts", json={"name": "x"}, headers=ingest)
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()


def test_a_store_bug_is_still_a_500_not_a_retry(client, ingest, monkeypatch):
    def bug(*args, **kwargs):
        # How each backend reports an unknown column: SQLite calls it operational too.
        if db.is_postgres():
            raise peewee.ProgrammingError('column "nonsense" does not exist')
        raise peewee.OperationalError("no such column: nonsense")

    monkeypatch.setattr(alert_store, "upsert_alerts", bug)
    response = client.post("/v1/alerts", json={"name": "x"}, headers=ingest)
    assert response.status_code == 500
    assert db.fetchone("SELECT COUNT(*) FROM alerts")[0] == 0
