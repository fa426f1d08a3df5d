"""What a notification says, read from the store at its first attempt: the message every
channel renders (`onset.notification.v1`). The incident's triage report is the one current
at that moment; the payload built from it is stored with the claim, so every retry sends
the same bytes.
"""

from __future__ import annotations

from typing import Any

from server.notify.model import INCIDENT, Delivery
from server.store import health_alerts, incidents
from server.timefmt import iso
from server.triage.lookup import generator
from server.triage.report import build_report

SCHEMA = "onset.notification.v1"
_INCIDENT_TIMES = ("onset", "opened_at", "updated_at", "recovering_since", "resolved_at")
_ALERT_TIMES = ("stale_since", "raised_at", "cleared_at")


def _incident(incident: dict[str, Any]) -> dict[str, Any]:
    doc = {k: incident[k] for k in ("id", "state", "kind", "cause", "confidence")}
    doc["severity"] = incident.get("severity")
    doc["family"] = {k: incident[k] for k in ("service", "env", "step", "error_code")}
    doc.update({name: iso(incident.get(name)) for name in _INCIDENT_TIMES})
    return doc


def present_health_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """A health alert with RFC 3339 times (the API's shape too)."""
    return {**alert, **{name: iso(alert.get(name)) for name in _ALERT_TIMES}}


def message_for(delivery: Delivery, now: float) -> dict[str, Any] | None:
    """The message of `delivery`; None when its subject no longer exists."""
    message: dict[str, Any] = {
        "schema": SCHEMA, "dedupe_key": delivery.dedupe_key, "event": delivery.event,
        "event_at": iso(delivery.event_at), "summary": delivery.summary,
        "subject": {"kind": delivery.subject_kind, "id": delivery.subject_id},
    }
    if delivery.subject_kind == INCIDENT:
        incident = incidents.get_incident(delivery.subject_id)
        if incident is None:
            return None
        message["incident"] = _incident(incident)
        message["report"] = build_report(incident, incident["snapshots"], generator=generator())
        return message
    alert = health_alerts.get_health_alert(delivery.subject_id, now)
    if alert is None:
        return None
    message["health_alert"] = present_health_alert(alert)
    return message
