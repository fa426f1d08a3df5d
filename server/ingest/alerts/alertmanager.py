"""Alertmanager webhook payloads (version 4).

One POST is one group. The group's `status` is `firing` while any of its alerts fires, so
each alert's own `status` is read. `truncatedAlerts` counts alerts left out by the
receiver's `max_alerts`: they are not resolved, just not sent. Identity is `fingerprint`
(a hash of the label set) plus `startsAt`.
"""

from __future__ import annotations

from typing import Any

from server.errors import ValidationFailed
from server.ingest.alerts.fields import (
    ANNOTATION_MAX,
    FINGERPRINT_MAX,
    NAME_MAX,
    Errors,
    alert_time,
    annotations_of,
    fingerprint_of,
    labelled_fields,
    links,
    sorted_items,
    status_of,
    string_map,
    text,
)
from server.ingest.alerts.parsed import Parsed
from server.store.alerts import AlertRecord

SOURCE = "alertmanager"


def group_alerts(payload: Any) -> list[Any]:
    """The group's alerts; raises ValidationFailed when the body is not a webhook group."""
    if not isinstance(payload, dict):
        raise ValidationFailed("expected a webhook group: a JSON object with \"alerts\"", {"body": ["must be an object"]})
    alerts = payload.get("alerts")
    if not isinstance(alerts, list):
        raise ValidationFailed("the group has no alerts array", {"alerts": ["must be an array"]})
    return alerts


def group_extra(payload: dict[str, Any]) -> dict[str, Any]:
    """The group's own fields kept with each of its alerts."""
    extra = {"receiver": text(payload.get("receiver"), 256), "group_key": text(payload.get("groupKey"), 2048),
             "external_url": text(payload.get("externalURL"), 2048)}
    return {k: v for k, v in extra.items() if v is not None}


def truncated_of(payload: dict[str, Any]) -> int:
    value = payload.get("truncatedAlerts")
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def parse_alert(alert: Any, source: str, extra: dict[str, Any], **urls: Any) -> AlertRecord | Errors:
    """One alert of a group (Alertmanager's shape, which Grafana extends); field errors when
    it cannot be kept. `urls` adds links the sender gives beyond `generatorURL`."""
    if not isinstance(alert, dict):
        return {"_item": ["must be a JSON object"]}
    errors: Errors = {}
    status = status_of(alert.get("status"), "status", errors)
    labels = string_map(alert.get("labels"), "labels", errors)
    raw_annotations = string_map(alert.get("annotations"), "annotations", errors, ANNOTATION_MAX)
    starts_at = alert_time(alert.get("startsAt"), "startsAt", errors, required=True)
    ends_at = alert_time(alert.get("endsAt"), "endsAt", errors, required=False)
    fingerprint = text(alert.get("fingerprint"), FINGERPRINT_MAX)
    if fingerprint is None and labels:
        fingerprint = fingerprint_of(sorted_items(labels))
    if fingerprint is None:
        errors.setdefault("fingerprint", ["required when the alert has no labels"])
    if errors:
        return errors
    assert status is not None and starts_at is not None and fingerprint is not None
    annotations = annotations_of(raw_annotations)
    derived = labelled_fields(labels, annotations)
    return AlertRecord(
        source=source, fingerprint=fingerprint, status=status,
        name=text(labels.get("alertname"), NAME_MAX) or fingerprint,
        service=derived["service"], env=derived["env"], severity=derived["severity"],
        labels=labels, annotations=annotations, starts_at=starts_at, ends_at=ends_at,
        links=links(generator=alert.get("generatorURL"), **urls),
        trace_id=derived["trace_id"], error_code=derived["error_code"], extra=extra,
    )


def parse(payload: Any, now: float) -> Parsed:
    """Every alert of the group; a bad alert is rejected and its neighbours kept."""
    alerts = group_alerts(payload)
    parsed = Parsed(SOURCE, truncated=truncated_of(payload))
    extra = group_extra(payload)
    for index, alert in enumerate(alerts):
        result = parse_alert(alert, SOURCE, extra)
        if isinstance(result, AlertRecord):
            parsed.records.append(result)
        else:
            parsed.reject(index, result)
    return parsed
