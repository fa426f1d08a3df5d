"""The request each channel sends (shapes checked against `responses`, the sender the worker
uses), and what `send` makes of each answer."""

from __future__ import annotations

import hashlib
import hmac

import orjson
import pytest
import requests
import responses

from server.notify import channels
from server.notify.model import Channel, HttpRequest
from server.notify.send import send
from server.triage.report import build_report
from tests.support.triage_state import INCIDENT_ID, incident_state

T0 = 1_700_000_000.0
SLACK_URL = "https://hooks.slack.com/services/T000/B000/XXXX"
PD_URL = "https://events.pagerduty.com/v2/enqueue"
HOOK_URL = "https://receiver.example.test/onset"


def channel(kind: str, url: str, secret: str | None = None) -> Channel:
    return Channel(f"chn_{kind}", kind, kind, url, secret, (), T0)


def incident_message(event: str = "opened") -> dict:
    incident = incident_state()
    report = build_report(incident, incident["snapshots"], generator="onset test")
    return {
        "schema": "onset.notification.v1", "event": event, "event_at": "2023-11-14T22:13:25.000Z",
        "dedupe_key": f"incident/{INCIDENT_ID}/{event}/1700000005000/chn_x",
        "summary": f"{INCIDENT_ID} {event}: payment POST /charge upstream_timeout",
        "subject": {"kind": "incident", "id": INCIDENT_ID},
        "incident": {"id": INCIDENT_ID, "state": "active", "kind": "errors", "cause": incident["cause"],
                     "confidence": incident["confidence"], "severity": None,
                     "family": {"service": "payment", "env": "production", "step": "POST /charge",
                                "error_code": "upstream_timeout"}},
        "report": report,
    }


def health_message(event: str = "raised") -> dict:
    alert = {"id": "hal_0123456789abcdef", "key": "service_silent", "scope": "service:payment@production",
             "severity": "critical", "service": "payment", "env": "production",
             "reason": "payment (production) sent no events for 1 window (60s)", "details": {"baseline": 120},
             "stale_since": "2023-11-14T22:13:20.000Z", "raised_at": "2023-11-14T22:14:30.000Z",
             "cleared_at": "2023-11-14T22:20:00.000Z" if event == "cleared" else None,
             "clear_reason": "traffic returned" if event == "cleared" else None}
    return {"schema": "onset.notification.v1", "event": event, "event_at": "2023-11-14T22:14:30.000Z",
            "dedupe_key": f"health_alert/hal_0123456789abcdef/{event}/1700000070000/chn_x",
            "summary": f"service_silent {event}: service:payment@production",
            "subject": {"kind": "health_alert", "id": "hal_0123456789abcdef"}, "health_alert": alert}


def post(request: HttpRequest, status: int = 200, **kwargs) -> requests.PreparedRequest:
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, request.url, status=status, **kwargs)
        result = send(request, 5)
        assert result.status == status
        return mock.calls[0].request


def test_slack_gets_the_reports_block_kit_with_the_change_on_top():
    message = incident_message()
    sent = post(channels.build_request(channel("slack", SLACK_URL), message), body="ok")
    assert sent.url == SLACK_URL
    assert sent.headers["Content-Type"] == "application/json"
    assert sent.headers["X-Onset-Dedupe-Key"] == message["dedupe_key"]
    body = orjson.loads(sent.body)
    assert set(body) == {"text", "blocks"}
    assert body["text"].startswith(f"{INCIDENT_ID} opened")
    assert body["blocks"][0]["type"] == "header"
    assert len(body["blocks"]) <= 50
    context = body["blocks"][-1]
    assert context["type"] == "context"
    texts = [e["text"] for e in context["elements"]]
    assert texts[0].startswith("Onset · opened")
    assert any(message["report"]["report_hash"] in t for t in texts)


def test_slack_gets_a_health_alert_as_a_short_message_of_its_own():
    sent = post(channels.build_request(channel("slack", SLACK_URL), health_message()))
    body = orjson.loads(sent.body)
    assert body["blocks"][0]["text"]["text"] == "[critical] service_silent: service:payment@production"
    assert "sent no events" in body["blocks"][1]["text"]["text"]
    cleared = orjson.loads(channels.build_request(channel("slack", SLACK_URL), health_message("cleared")).body)
    assert cleared["blocks"][0]["text"]["text"].startswith("[cleared]")


def test_webhook_posts_the_whole_message_signed_over_the_raw_body():
    message = incident_message()
    sent = post(channels.build_request(channel("webhook", HOOK_URL, secret="s3cret"), message), status=204)
    expected = "sha256=" + hmac.new(b"s3cret", sent.body, hashlib.sha256).hexdigest()
    assert sent.headers["X-Onset-Signature"] == expected
    assert sent.headers["X-Onset-Event"] == "opened"
    body = orjson.loads(sent.body)
    assert body["dedupe_key"] == message["dedupe_key"]
    assert body["report"]["report_hash"] == message["report"]["report_hash"]
    assert body["schema"] == "onset.notification.v1"


def test_webhook_without_a_secret_is_not_signed():
    request = channels.build_request(channel("webhook", HOOK_URL), incident_message())
    assert "X-Onset-Signature" not in request.headers


def test_pagerduty_triggers_with_a_dedup_key_derived_from_the_incident():
    message = incident_message()
    sent = post(channels.build_request(channel("pagerduty", PD_URL, secret="R0UT1NGKEY"), message), status=202,
                json={"status": "success", "dedup_key": f"onset/{INCIDENT_ID}"})
    body = orjson.loads(sent.body)
    assert body["routing_key"] == "R0UT1NGKEY"
    assert body["event_action"] == "trigger"
    assert body["dedup_key"] == f"onset/{INCIDENT_ID}"
    payload = body["payload"]
    assert payload["source"] == "onset" and payload["severity"] == "error"
    assert payload["component"] == "payment" and payload["group"] == "production"
    assert len(payload["summary"]) <= 1024
    assert payload["custom_details"]["report_hash"] == message["report"]["report_hash"]
    assert message["report"]["report_hash"] in payload["custom_details"]["note"]


def test_pagerduty_resolves_the_same_dedup_key_and_never_hears_of_recovering():
    resolve = orjson.loads(channels.build_request(channel("pagerduty", PD_URL, "K"), incident_message("resolved")).body)
    assert resolve == {"routing_key": "K", "event_action": "resolve", "dedup_key": f"onset/{INCIDENT_ID}"}
    assert not channels.takes("pagerduty", "recovering")


def test_pagerduty_health_alerts_trigger_and_resolve_by_alert_id():
    trigger = orjson.loads(channels.build_request(channel("pagerduty", PD_URL, "K"), health_message()).body)
    assert trigger["dedup_key"] == "onset/hal_0123456789abcdef"
    assert trigger["payload"]["severity"] == "critical"
    assert trigger["payload"]["class"] == "service_silent"
    cleared = orjson.loads(channels.build_request(channel("pagerduty", PD_URL, "K"), health_message("cleared")).body)
    assert cleared["event_action"] == "resolve"


def test_send_reads_retry_after_and_the_start_of_the_body():
    request = HttpRequest(HOOK_URL, b"{}", {"Content-Type": "application/json"})
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, HOOK_URL, status=429, body="slow down " * 1000, headers={"Retry-After": "3"})
        result = send(request, 5)
    assert (result.status, result.retry_after) == (429, 3.0)
    assert result.body.startswith("slow down") and len(result.body) <= 2048


def test_send_turns_network_trouble_into_a_result_and_never_raises():
    request = HttpRequest(HOOK_URL, b"{}", {})
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, HOOK_URL, body=requests.ConnectionError("Connection refused"))
        result = send(request, 5)
    assert result.status is None and "Connection refused" in result.error
    with responses.RequestsMock() as mock:
        mock.add(responses.POST, HOOK_URL, body=requests.ReadTimeout("read timeout"))
        assert send(request, 5).error.startswith("timed out")


@pytest.mark.parametrize("kind", ["slack", "webhook", "pagerduty"])
def test_every_channel_sends_the_dedupe_key_header(kind):
    request = channels.build_request(channel(kind, HOOK_URL, "k" if kind != "slack" else None), incident_message())
    assert request.headers["X-Onset-Dedupe-Key"].startswith(f"incident/{INCIDENT_ID}/opened/")
