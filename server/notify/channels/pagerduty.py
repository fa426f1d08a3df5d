"""PagerDuty Events API v2: trigger and resolve, deduplicated by a key derived from the
incident (or health alert) id, so that every trigger of one incident, its retries and its
resolve all name the same PagerDuty alert.

PagerDuty has no "recovering": an acknowledge would say a person is on it, so recovering
is not sent. It answers 202 when it accepted the event, 400 for an invalid one (final),
429 when throttled and 5xx when in trouble (both retried).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from server.notify.channels.common import base_headers, clip, json_body
from server.notify.model import Channel, HttpRequest
from server.notify.retry import Retrier, body_detail
from server.triage.render import pagerduty as report_note

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
TAKES = frozenset({"opened", "cause_changed", "reactivated", "resolved", "raised", "cleared"})
RESOLVING = frozenset({"resolved", "cleared"})
MAX_SUMMARY = 1024
# Incident severities (P1..P4, once incidents have them) and health alert severities.
SEVERITY = {"P1": "critical", "P2": "error", "P3": "warning", "P4": "info", "critical": "critical",
            "warning": "warning"}


def dedup_key(message: Mapping[str, Any]) -> str:
    return f"onset/{message['subject']['id']}"


def _details(status: int, body: str) -> str:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body_detail(status, body)
    if not isinstance(doc, dict):
        return body_detail(status, body)
    parts = [str(doc.get("message") or doc.get("status") or "")]
    parts += [str(e) for e in doc.get("errors") or []]
    return "; ".join(p for p in parts if p)[:300]


RETRIER = Retrier(retry_codes=frozenset({429}), details=_details)


def _trigger_payload(message: Mapping[str, Any]) -> dict[str, Any]:
    report = message.get("report")
    if report is not None:
        incident = message["incident"]
        family = incident["family"]
        details = {"report_hash": report["report_hash"], "evidence_fingerprint": report["evidence_fingerprint"],
                   "cause": incident["cause"], "confidence": incident["confidence"], "state": incident["state"],
                   "event": message["event"], "note": report_note.render(report)}
        return {"summary": clip(f"{message['summary']}. {report['summary']}", MAX_SUMMARY), "source": "onset",
                "severity": SEVERITY.get(incident.get("severity") or "", "error"),
                "timestamp": message["event_at"], "component": family["service"], "group": family["env"],
                "class": incident["cause"], "custom_details": details}
    alert = message["health_alert"]
    return {"summary": clip(message["summary"], MAX_SUMMARY), "source": "onset",
            "severity": SEVERITY.get(alert["severity"], "warning"), "timestamp": message["event_at"],
            "component": alert.get("service") or alert["scope"], "group": alert.get("env") or "onset",
            "class": alert["key"],
            "custom_details": {k: alert.get(k) for k in ("key", "scope", "reason", "stale_since", "raised_at",
                                                         "details")}}


def build(channel: Channel, message: Mapping[str, Any]) -> HttpRequest:
    event: dict[str, Any] = {"routing_key": channel.secret or "", "dedup_key": dedup_key(message)}
    if message["event"] in RESOLVING:
        event["event_action"] = "resolve"
    else:
        event["event_action"] = "trigger"
        event["payload"] = _trigger_payload(message)
        event["client"] = "Onset"
    return HttpRequest(channel.url or EVENTS_URL, json_body(event), base_headers(message))
