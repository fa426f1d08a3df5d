"""Every sender's payload normalises to the one alert shape; each field is named in the tests.

Alertmanager: the real captures. Grafana and PagerDuty: payloads written from their
documented formats (tests/support/alert_payloads.py).
"""

from __future__ import annotations

import pytest

from server.errors import PayloadTooLarge, ValidationFailed
from server.ingest.alerts import detect_source, parse_alerts
from server.store.alerts import AlertRecord, alert_id_of
from server.timefmt import parse_time
from tests.support.alert_payloads import alertmanager_body, grafana_body, pagerduty_body, pagerduty_note

NOW = parse_time("2026-11-22T16:00:00Z")
STARTS = parse_time("2026-11-22T15:37:56Z")


def never_seen(fingerprint: str, firing_only: bool) -> float | None:
    return None


def parse(payload, source: str | None = None, start_of=never_seen, max_items: int = 100):
    return parse_alerts(payload, source or detect_source(payload), NOW, start_of, max_items)


def only(parsed) -> AlertRecord:
    assert len(parsed.records) == 1 and not parsed.rejected
    return parsed.records[0]


# -- Alertmanager (captured from a real Alertmanager 0.25) -------------------------------------

def test_alertmanager_firing_capture_normalises_every_field():
    parsed = parse(alertmanager_body("firing-single"))
    assert parsed.source == "alertmanager" and parsed.truncated == 0
    alert = only(parsed)
    assert alert.source == "alertmanager"
    assert alert.fingerprint == "73e21a66bebb620a"
    assert alert.status == "firing"
    assert alert.name == "HighErrorRate"
    assert alert.service == "payment"
    assert alert.env == "prod"
    assert alert.severity == "critical"
    assert alert.labels == {"alertname": "HighErrorRate", "env": "prod", "job": "payment", "service": "payment",
                            "severity": "critical"}
    assert alert.annotations == {
        "summary": "payment 5xx rate above 5%",
        "description": "payment /charge is failing with PMT_502 for 12% of requests",
        "runbook_url": "https://runbooks.example.com/payment-5xx",
    }
    assert alert.starts_at == STARTS
    assert alert.ends_at is None  # the zero time 0001-01-01T00:00:00Z: no end yet
    assert alert.links == {
        "generator": "http://prometheus.example.com:9090/graph?g0.expr=rate%28http_requests_total%7Bstatus%3D~"
                     "%225..%22%7D%5B5m%5D%29",
        "dashboard": None, "panel": None, "silence": None,
    }
    assert alert.trace_id is None and alert.error_code is None
    assert alert.extra == {"receiver": "onset", "external_url": "http://vm:19093",
                           "group_key": '{}:{alertname="HighErrorRate", service="payment"}'}


def test_alertmanager_resolved_capture_has_the_same_identity_and_an_end():
    firing = only(parse(alertmanager_body("firing-single")))
    resolved = only(parse(alertmanager_body("resolved-single")))
    assert resolved.status == "resolved"
    assert resolved.ends_at == parse_time("2026-11-22T15:37:58Z")
    assert (resolved.fingerprint, resolved.starts_at) == (firing.fingerprint, firing.starts_at)
    assert resolved.alert_id == firing.alert_id == alert_id_of("alertmanager", "73e21a66bebb620a", STARTS)


def test_alertmanager_truncated_group_keeps_both_alerts_and_counts_the_left_out_one():
    parsed = parse(alertmanager_body("firing-group-truncated"))
    assert parsed.truncated == 1  # left out by max_alerts: not resolved
    assert [a.fingerprint for a in parsed.records] == ["dc4a27830f1a23ed", "e85b92c4ccfa7650"]
    for alert, instance in zip(parsed.records, ("inventory-0", "inventory-1"), strict=True):
        assert alert.status == "firing"
        assert alert.name == "TargetDown"
        assert alert.service == "inventory"
        assert alert.env == "prod"
        assert alert.severity == "warning"
        assert alert.labels["instance"] == f"{instance}:8080"
        assert alert.annotations == {"summary": f"{instance} is down", "description": None, "runbook_url": None}
        assert alert.starts_at == STARTS and alert.ends_at is None
        assert alert.links["generator"] is None  # generatorURL "" is no link
    assert len({a.alert_id for a in parsed.records}) == 2


def test_each_alert_of_a_group_keeps_its_own_status():
    body = alertmanager_body("firing-group-truncated")
    body["alerts"][1].update(status="resolved", endsAt="2026-11-22T15:40:00Z")
    parsed = parse(body)
    assert body["status"] == "firing"
    assert [a.status for a in parsed.records] == ["firing", "resolved"]


def test_partly_bad_group_keeps_the_good_alerts():
    body = alertmanager_body("firing-group-truncated")
    body["alerts"].insert(0, "not an alert")
    body["alerts"].append({**body["alerts"][1], "status": "pending"})
    body["alerts"].append({**body["alerts"][1], "startsAt": "yesterday"})
    parsed = parse(body)
    assert len(parsed.records) == 2
    assert [(r["index"], sorted(r["fields"])) for r in parsed.rejected] == [
        (0, ["_item"]), (3, ["status"]), (4, ["startsAt"])]


def test_alert_without_fingerprint_gets_one_from_its_labels():
    body = alertmanager_body("firing-single")
    del body["alerts"][0]["fingerprint"]
    first, second = only(parse(body)), only(parse(body))
    assert len(first.fingerprint) == 16 and first.fingerprint == second.fingerprint


def test_links_that_are_not_http_are_dropped():
    body = alertmanager_body("firing-single")
    body["alerts"][0]["generatorURL"] = "javascript:alert(1)"
    body["alerts"][0]["annotations"]["runbook_url"] = "javascript:alert(2)"
    alert = only(parse(body))
    assert alert.links["generator"] is None
    assert alert.annotations["runbook_url"] == "javascript:alert(2)"  # kept as text, never as a link


def test_trace_id_and_error_code_are_read_from_labels_or_annotations():
    body = alertmanager_body("firing-single")
    body["alerts"][0]["labels"]["error_code"] = "PMT_502"
    body["alerts"][0]["annotations"]["trace_id"] = "1861ae1dde4e8ca417daee97f7816f2d"
    alert = only(parse(body))
    assert alert.error_code == "PMT_502"
    assert alert.trace_id == "1861ae1dde4e8ca417daee97f7816f2d"


def test_nul_characters_and_long_text_are_cleaned_not_rejected():
    body = alertmanager_body("firing-single")
    body["alerts"][0]["annotations"]["description"] = "bad\x00byte " + "x" * 20_000
    alert = only(parse(body))
    assert "\x00" not in alert.annotations["description"]
    assert len(alert.annotations["description"]) <= 8192


def test_a_body_that_is_no_group_is_a_validation_error():
    with pytest.raises(ValidationFailed) as caught:
        parse({"receiver": "onset", "alerts": "none"}, "alertmanager")
    assert "alerts" in caught.value.fields


# -- Grafana (documented webhook format) -------------------------------------------------------

def test_grafana_payload_normalises_every_field_with_offsets_and_microseconds():
    parsed = parse(grafana_body())
    assert parsed.source == "grafana"
    firing, resolved = parsed.records
    assert firing.source == "grafana"
    assert firing.fingerprint == "5b1f3f5e0c8d9a21"
    assert firing.status == "firing"
    assert firing.name == "PaymentErrors"
    assert firing.service == "payment"
    assert firing.env == "production"
    assert firing.severity == "critical"
    assert firing.labels["grafana_folder"] == "Payments"
    assert firing.annotations == {"summary": "payment error rate above 5%",
                                  "description": "POST /charge fails with PMT_502",
                                  "runbook_url": "https://runbooks.example.com/payment-errors"}
    assert firing.starts_at == pytest.approx(parse_time("2026-11-22T15:37:56.157076Z"), abs=1e-6)
    assert firing.ends_at is None
    assert firing.links == {
        "generator": "https://grafana.example.com/alerting/grafana/aeq1a2b3c/view?orgId=1",
        "dashboard": "https://grafana.example.com/d/pay01?orgId=1",
        "panel": "https://grafana.example.com/d/pay01?orgId=1&viewPanel=4",
        "silence": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana"
                   "&matcher=alertname%3DPaymentErrors&orgId=1",
    }
    assert firing.extra["values"] == {"A": 0.1234, "C": 1}
    assert firing.extra["value_string"].startswith("[ var='A'")
    assert firing.extra["org_id"] == "1"
    assert firing.extra["title"] == "[FIRING:1, RESOLVED:1] Payments"

    assert resolved.status == "resolved"
    assert resolved.service == "checkout"
    assert resolved.severity is None
    assert resolved.starts_at == pytest.approx(parse_time("2026-11-22T15:30:00.5Z"), abs=1e-6)
    assert resolved.ends_at == pytest.approx(parse_time("2026-11-22T15:35:00.25Z"), abs=1e-6)
    assert resolved.links["dashboard"] is None and resolved.links["panel"] is None


def test_grafana_payload_named_as_alertmanager_still_parses():
    parsed = parse(grafana_body(), "alertmanager")
    assert [a.name for a in parsed.records] == ["PaymentErrors", "CheckoutLatency"]


# -- PagerDuty (documented V3 webhook format) --------------------------------------------------

def test_pagerduty_triggered_incident_normalises_every_field():
    parsed = parse(pagerduty_body())
    assert parsed.source == "pagerduty"
    alert = only(parsed)
    assert alert.source == "pagerduty"
    assert alert.fingerprint == "Q2K5W8ZGKE1N7V"
    assert alert.status == "firing"
    assert alert.name == "payment: card processor returns 502"
    assert alert.service == "payment"
    assert alert.env is None
    assert alert.severity == "P1"
    assert alert.labels == {"pagerduty_incident_id": "Q2K5W8ZGKE1N7V", "pagerduty_service_id": "PSVC123",
                            "incident_number": "4711", "urgency": "high", "priority": "P1"}
    assert alert.annotations == {"summary": "payment: card processor returns 502", "description": None,
                                 "runbook_url": None}
    assert alert.starts_at == parse_time("2026-11-22T15:38:10Z")
    assert alert.ends_at is None
    assert alert.links == {"generator": "https://acme.pagerduty.com/incidents/Q2K5W8ZGKE1N7V", "dashboard": None,
                           "panel": None, "silence": None}
    assert alert.extra["event_type"] == "incident.triggered"
    assert alert.extra["incident_key"] == "payment-pmt-502"


def test_every_event_of_a_pagerduty_incident_is_one_alert_and_resolved_closes_it():
    triggered = only(parse(pagerduty_body()))
    acknowledged = only(parse(pagerduty_body("incident.acknowledged", status="acknowledged")))
    resolved = only(parse(pagerduty_body("incident.resolved")))
    assert triggered.alert_id == acknowledged.alert_id == resolved.alert_id
    assert acknowledged.status == "firing"
    assert resolved.status == "resolved"
    assert resolved.ends_at == parse_time("2026-11-22T15:48:10.500Z")


def test_pagerduty_urgency_stands_in_for_a_missing_priority():
    assert only(parse(pagerduty_body(priority=None))).severity == "high"


def test_pagerduty_events_that_are_not_incident_changes_are_ignored():
    for body in (pagerduty_note(), {"event": {"event_type": "pagey.ping", "data": {}}}):
        parsed = parse(body)
        assert parsed.source == "pagerduty"
        assert parsed.records == [] and parsed.rejected == []
        assert len(parsed.ignored) == 1


def test_pagerduty_incident_without_id_is_rejected():
    parsed = parse(pagerduty_body(id=None))
    assert parsed.records == [] and parsed.rejected[0]["fields"] == {"event.data.id": ["required"]}


# -- Onset's own format ------------------------------------------------------------------------

def test_onset_alert_normalises_every_field():
    body = {"name": "QueueBacklog", "service": "orders", "env": "production", "severity": "warning",
            "summary": "orders queue above 10k", "description": "consumers are behind",
            "runbook_url": "https://runbooks.example.com/orders-queue", "labels": {"queue": "orders"},
            "starts_at": "2026-11-22T15:37:56Z", "links": {"dashboard": "https://grafana.example.com/d/q"},
            "trace_id": "1861ae1dde4e8ca417daee97f7816f2d", "error_code": "QUEUE_FULL"}
    parsed = parse(body)
    assert parsed.source == "onset"
    alert = only(parsed)
    assert (alert.source, alert.status, alert.name, alert.service, alert.env, alert.severity) == (
        "onset", "firing", "QueueBacklog", "orders", "production", "warning")
    assert alert.labels == {"queue": "orders"}
    assert alert.annotations == {"summary": "orders queue above 10k", "description": "consumers are behind",
                                 "runbook_url": "https://runbooks.example.com/orders-queue"}
    assert alert.starts_at == STARTS and alert.ends_at is None
    assert alert.links == {"generator": None, "dashboard": "https://grafana.example.com/d/q", "panel": None,
                           "silence": None}
    assert alert.trace_id == "1861ae1dde4e8ca417daee97f7816f2d" and alert.error_code == "QUEUE_FULL"
    assert len(alert.fingerprint) == 16


def test_onset_alert_without_start_continues_the_firing_one():
    seen = {}

    def start_of(fingerprint, firing_only):
        return seen.get(fingerprint)

    first = only(parse({"name": "QueueBacklog", "service": "orders"}, start_of=start_of))
    assert first.starts_at == NOW
    seen[first.fingerprint] = NOW - 120
    again = only(parse({"name": "QueueBacklog", "service": "orders"}, start_of=start_of))
    assert again.starts_at == NOW - 120 and again.fingerprint == first.fingerprint


def test_onset_batch_rejects_bad_items_and_names_their_fields():
    parsed = parse({"alerts": [{"name": "ok"}, {"service": "x"}, {"name": "y", "status": "open"},
                               {"name": "z", "links": {"generator": "javascript:x"}}]})
    assert [a.name for a in parsed.records] == ["ok"]
    assert [(r["index"], sorted(r["fields"])) for r in parsed.rejected] == [
        (1, ["name"]), (2, ["status"]), (3, ["links"])]


def test_onset_batch_over_the_item_cap_is_too_large():
    with pytest.raises(PayloadTooLarge):
        parse([{"name": "a"}] * 3, max_items=2)


# -- telling senders apart ---------------------------------------------------------------------

@pytest.mark.parametrize(("payload", "source"), [
    (alertmanager_body("firing-single"), "alertmanager"),
    (alertmanager_body("firing-group-truncated"), "alertmanager"),
    (alertmanager_body("resolved-single"), "alertmanager"),
    (grafana_body(), "grafana"),
    (pagerduty_body(), "pagerduty"),
    (pagerduty_note(), "pagerduty"),
    ({"name": "x"}, "onset"),
    ({"alerts": [{"name": "x"}]}, "onset"),
    ([{"name": "x"}], "onset"),
    ("nonsense", "onset"),
])
def test_sender_is_told_from_the_body(payload, source):
    assert detect_source(payload) == source
