"""Alert payloads as their senders send them.

Alertmanager: the captures in shared/fixtures/alertmanager (a real Alertmanager 0.25).
Grafana and PagerDuty: written from their documented webhook formats (Grafana's unified
alerting webhook notifier; PagerDuty's V3 webhook `incident.*` events), with this
project's services in them.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

# shared/ lies beside the repository (in CI too: a fresh clone with shared/ beside it).
FIXTURES = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"
ALERTMANAGER = FIXTURES / "alertmanager"
OTLP = FIXTURES / "otlp"


def alertmanager_capture(name: str) -> dict[str, Any]:
    """{"headers": {...}, "body": {...}} of `shared/fixtures/alertmanager/<name>.json`."""
    return json.loads((ALERTMANAGER / f"{name}.json").read_text())


def alertmanager_body(name: str) -> dict[str, Any]:
    return alertmanager_capture(name)["body"]


_GRAFANA = {
    "receiver": "onset",
    "status": "firing",
    "orgId": 1,
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "PaymentErrors", "grafana_folder": "Payments", "service": "payment",
                       "env": "production", "severity": "critical", "team": "payments"},
            "annotations": {"summary": "payment error rate above 5%",
                            "description": "POST /charge fails with PMT_502",
                            "runbook_url": "https://runbooks.example.com/payment-errors"},
            "startsAt": "2026-11-22T16:37:56.157076+01:00",
            "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "https://grafana.example.com/alerting/grafana/aeq1a2b3c/view?orgId=1",
            "fingerprint": "5b1f3f5e0c8d9a21",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana"
                          "&matcher=alertname%3DPaymentErrors&orgId=1",
            "dashboardURL": "https://grafana.example.com/d/pay01?orgId=1",
            "panelURL": "https://grafana.example.com/d/pay01?orgId=1&viewPanel=4",
            "values": {"A": 0.1234, "C": 1},
            "valueString": "[ var='A' labels={service=payment} value=0.1234 ], [ var='C' labels={service=payment}"
                           " value=1 ]",
            "orgId": 1,
        },
        {
            "status": "resolved",
            "labels": {"alertname": "CheckoutLatency", "grafana_folder": "Payments", "service": "checkout",
                       "env": "production"},
            "annotations": {"summary": "checkout p99 above 2s"},
            "startsAt": "2026-11-22T16:30:00.5+01:00",
            "endsAt": "2026-11-22T16:35:00.250000+01:00",
            "generatorURL": "https://grafana.example.com/alerting/grafana/bcd2e3f4/view?orgId=1",
            "fingerprint": "0aa1b2c3d4e5f607",
            "silenceURL": "https://grafana.example.com/alerting/silence/new?alertmanager=grafana"
                          "&matcher=alertname%3DCheckoutLatency&orgId=1",
            "dashboardURL": "",
            "panelURL": "",
            "values": {"B": 2.5},
            "valueString": "[ var='B' labels={service=checkout} value=2.5 ]",
            "orgId": 1,
        },
    ],
    "groupLabels": {"grafana_folder": "Payments"},
    "commonLabels": {"grafana_folder": "Payments"},
    "commonAnnotations": {},
    "externalURL": "https://grafana.example.com/",
    "version": "1",
    "groupKey": "{}/{}:{grafana_folder=\"Payments\"}",
    "truncatedAlerts": 0,
    "title": "[FIRING:1, RESOLVED:1] Payments",
    "state": "alerting",
    "message": "**Firing**\n\nValue: A=0.1234, C=1\nLabels:\n - alertname = PaymentErrors\n",
}


def grafana_body() -> dict[str, Any]:
    return copy.deepcopy(_GRAFANA)


_PAGERDUTY_TRIGGERED = {
    "event": {
        "id": "01DEN8NO1B9YHDJOXTIOUVMPQV",
        "event_type": "incident.triggered",
        "resource_type": "incident",
        "occurred_at": "2026-11-22T15:38:10.123Z",
        "agent": {"html_url": "https://acme.pagerduty.com/services/PSVC123", "id": "PSVC123",
                  "self": "https://api.pagerduty.com/services/PSVC123", "summary": "payment",
                  "type": "service_reference"},
        "client": {"name": "Monitoring Service", "url": "https://monitoring.example.com"},
        "data": {
            "id": "Q2K5W8ZGKE1N7V",
            "type": "incident",
            "self": "https://api.pagerduty.com/incidents/Q2K5W8ZGKE1N7V",
            "html_url": "https://acme.pagerduty.com/incidents/Q2K5W8ZGKE1N7V",
            "number": 4711,
            "status": "triggered",
            "incident_key": "payment-pmt-502",
            "created_at": "2026-11-22T15:38:10Z",
            "title": "payment: card processor returns 502",
            "service": {"html_url": "https://acme.pagerduty.com/services/PSVC123", "id": "PSVC123",
                        "self": "https://api.pagerduty.com/services/PSVC123", "summary": "payment",
                        "type": "service_reference"},
            "assignees": [{"html_url": "https://acme.pagerduty.com/users/PUSR1", "id": "PUSR1",
                           "self": "https://api.pagerduty.com/users/PUSR1", "summary": "On Call",
                           "type": "user_reference"}],
            "escalation_policy": {"html_url": "https://acme.pagerduty.com/escalation_policies/PEP1",
                                  "id": "PEP1", "self": "https://api.pagerduty.com/escalation_policies/PEP1",
                                  "summary": "Payments", "type": "escalation_policy_reference"},
            "teams": [],
            "priority": {"html_url": "https://acme.pagerduty.com/account/incident_priorities", "id": "PPRI1",
                         "self": "https://api.pagerduty.com/priorities/PPRI1", "summary": "P1",
                         "type": "priority_reference"},
            "urgency": "high",
            "conference_bridge": None,
            "resolve_reason": None,
        },
    }
}


def pagerduty_body(event_type: str = "incident.triggered", **data: Any) -> dict[str, Any]:
    """A V3 webhook event of the payment incident; `data` overrides fields of `event.data`."""
    body = copy.deepcopy(_PAGERDUTY_TRIGGERED)
    body["event"]["event_type"] = event_type
    if event_type == "incident.resolved":
        body["event"]["occurred_at"] = "2026-11-22T15:48:10.500Z"
        body["event"]["data"]["status"] = "resolved"
    body["event"]["data"].update(data)
    return body


def pagerduty_note() -> dict[str, Any]:
    """An `incident.annotated` event: its data is the note, not the incident."""
    return {"event": {"id": "01DEN8NO1B9YHDJOXTIOUVMPQW", "event_type": "incident.annotated",
                      "resource_type": "incident", "occurred_at": "2026-11-22T15:40:00Z",
                      "data": {"incident": {"id": "Q2K5W8ZGKE1N7V", "type": "incident_reference"},
                               "id": "PNOTE1", "content": "looking into it", "type": "incident_note"}}}


def hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
