"""PagerDuty V3 webhooks: one event per POST, `{"event": {"event_type", "occurred_at", "data"}}`.

Incident events (`incident.triggered`, `.acknowledged`, `.escalated`, `.reopened`,
`.priority_updated`, `.resolved`, ...) whose `data` is the incident become one alert: its
identity is the PagerDuty incident id and creation time, so every event of an incident
updates one row, `incident.resolved` closes it and `incident.reopened` opens it again.
Other events (notes, responders, service changes, `pagey.ping`) are acknowledged and
ignored.
"""

from __future__ import annotations

from typing import Any

from server.errors import ValidationFailed
from server.ingest.alerts.fields import (
    FINGERPRINT_MAX,
    NAME_MAX,
    SERVICE_MAX,
    SEVERITY_MAX,
    Errors,
    alert_time,
    annotations_of,
    links,
    text,
)
from server.ingest.alerts.parsed import Parsed
from server.store.alerts import FIRING, RESOLVED, AlertRecord

SOURCE = "pagerduty"


def _summary(reference: Any) -> str | None:
    """The readable name of a PagerDuty reference object ({"id", "summary", "type", ...})."""
    return text(reference.get("summary"), 256) if isinstance(reference, dict) else None


def _incident(event: dict[str, Any], data: dict[str, Any]) -> AlertRecord | Errors:
    errors: Errors = {}
    event_type = event["event_type"]
    occurred_at = alert_time(event.get("occurred_at"), "event.occurred_at", errors, required=False)
    created_at = alert_time(data.get("created_at"), "event.data.created_at", errors, required=False)
    incident_id = text(data.get("id"), FINGERPRINT_MAX)
    if incident_id is None:
        errors["event.data.id"] = ["required"]
    starts_at = created_at or occurred_at
    if starts_at is None and not errors:
        errors["event.data.created_at"] = ["required (or event.occurred_at)"]
    if errors:
        return errors
    assert incident_id is not None and starts_at is not None
    resolved = event_type == "incident.resolved" or data.get("status") == "resolved"
    service = data.get("service") if isinstance(data.get("service"), dict) else {}
    priority = _summary(data.get("priority"))
    urgency = text(data.get("urgency"), SEVERITY_MAX)
    title = text(data.get("title"), NAME_MAX) or incident_id
    labels = {k: v for k, v in {
        "pagerduty_incident_id": incident_id,
        "pagerduty_service_id": text(service.get("id"), 64),
        "incident_number": text(data.get("number"), 32),
        "urgency": urgency,
        "priority": priority,
    }.items() if v is not None}
    extra = {k: v for k, v in {
        "event_id": text(event.get("id"), 128), "event_type": event_type,
        "occurred_at": occurred_at, "incident_key": text(data.get("incident_key"), 512),
        "incident_status": text(data.get("status"), 32),
    }.items() if v is not None}
    return AlertRecord(
        source=SOURCE, fingerprint=incident_id, status=RESOLVED if resolved else FIRING, name=title,
        service=text(service.get("summary"), SERVICE_MAX), env=None,
        severity=text(priority or urgency, SEVERITY_MAX), labels=labels,
        annotations=annotations_of({"summary": title}), starts_at=starts_at,
        ends_at=(occurred_at or starts_at) if resolved else None,
        links=links(generator=data.get("html_url")), extra=extra,
    )


def parse(payload: Any, now: float) -> Parsed:
    """The one alert of an incident event, or nothing (ignored) for other events."""
    event = payload.get("event") if isinstance(payload, dict) else None
    if not isinstance(event, dict) or not isinstance(event.get("event_type"), str):
        raise ValidationFailed("expected a PagerDuty V3 webhook: {\"event\": {\"event_type\": ...}}",
                               {"event": ["must be an object with event_type"]})
    parsed = Parsed(SOURCE)
    data = event.get("data")
    event_type = event["event_type"]
    if not event_type.startswith("incident.") or not isinstance(data, dict) or data.get("type") != "incident":
        parsed.ignore(0, f"{event_type[:64]} is not an incident state change")
        return parsed
    result = _incident(event, data)
    if isinstance(result, AlertRecord):
        parsed.records.append(result)
    else:
        parsed.reject(0, result)
    return parsed
