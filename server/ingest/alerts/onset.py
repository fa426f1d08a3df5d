"""Onset's own alert format, for scripts and senders without a format of their own.

One alert object, a JSON array of them, or `{"alerts": [...]}`. Only `name` is required.
Without a `fingerprint` one is derived from name, service, env and labels; without
`starts_at` a firing alert continues the one with its fingerprint that still fires (else it
starts now), so repeating a POST updates one alert instead of adding another.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from server.errors import PayloadTooLarge, ValidationFailed
from server.ingest.alerts.fields import (
    ANNOTATION_MAX,
    fingerprint_of,
    links,
    sorted_items,
    string_map,
)
from server.ingest.alerts.fields import annotations_of as normalised_annotations
from server.ingest.alerts.parsed import Parsed
from server.ingest.events import ID_PATTERN
from server.ingest.fields import Text, Timestamp
from server.store.alerts import FIRING, LINK_NAMES, STATUSES, AlertRecord

SOURCE = "onset"

# (fingerprint, firing_only) -> when the stored alert of that fingerprint started, or None
StartOf = Callable[[str, bool], float | None]


class OnsetAlertSchema(Schema):
    class Meta:
        unknown = EXCLUDE

    name = Text(required=True, validate=validate.Length(1, 256))
    status = fields.String(load_default=FIRING, validate=validate.OneOf(STATUSES))
    fingerprint = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    service = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    env = Text(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    severity = Text(load_default=None, allow_none=True, validate=validate.Length(1, 64))
    summary = Text(load_default=None, allow_none=True, validate=validate.Length(1, 2048))
    description = Text(load_default=None, allow_none=True, validate=validate.Length(1, ANNOTATION_MAX))
    runbook_url = fields.Url(load_default=None, allow_none=True, schemes={"http", "https"}, require_tld=False)
    labels = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    annotations = fields.Dict(keys=fields.String(), values=fields.Raw(), load_default=dict)
    links = fields.Dict(keys=fields.String(validate=validate.OneOf(LINK_NAMES)),
                        values=fields.Url(schemes={"http", "https"}, require_tld=False), load_default=dict)
    starts_at = Timestamp(load_default=None, allow_none=True)
    ends_at = Timestamp(load_default=None, allow_none=True)
    trace_id = fields.String(load_default=None, allow_none=True,
                             validate=validate.Regexp(ID_PATTERN, error="must be 1-64 characters of [0-9A-Za-z_.:-]"))
    error_code = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))


_schema = OnsetAlertSchema()


def items(payload: Any, max_items: int) -> list[Any]:
    """The alert objects of the body."""
    if isinstance(payload, dict) and "alerts" not in payload:
        return [payload]
    if isinstance(payload, dict):
        payload = payload["alerts"]
    if not isinstance(payload, list):
        raise ValidationFailed("expected an alert object, a JSON array of them, or {\"alerts\": [...]}",
                               {"alerts": ["must be an array"]})
    if len(payload) > max_items:
        raise PayloadTooLarge(f"at most {max_items} alerts per request", {"alerts": [f"got {len(payload)}"]})
    return payload


def parse_alert(item: Any, now: float, start_of: StartOf) -> AlertRecord | dict:
    if not isinstance(item, dict):
        return {"_item": ["must be a JSON object"]}
    try:
        d = _schema.load(item)
    except ValidationError as exc:
        return exc.messages if isinstance(exc.messages, dict) else {"_item": exc.messages}
    errors: dict[str, list[str]] = {}
    labels = string_map(d["labels"], "labels", errors)
    raw_annotations = string_map(d["annotations"], "annotations", errors)
    for name in ("summary", "description", "runbook_url"):
        if d.get(name) is not None:
            raw_annotations[name] = d[name]
    if errors:
        return errors
    fingerprint = d["fingerprint"] or fingerprint_of(d["name"], d["service"], d["env"], sorted_items(labels))
    starts_at = d["starts_at"]
    if starts_at is None:
        starts_at = start_of(fingerprint, d["status"] == FIRING) or now
    ends_at = d["ends_at"]
    if ends_at is None and d["status"] != FIRING:
        ends_at = now
    return AlertRecord(
        source=SOURCE, fingerprint=fingerprint, status=d["status"], name=d["name"], service=d["service"],
        env=d["env"], severity=d["severity"], labels=labels, annotations=normalised_annotations(raw_annotations),
        starts_at=starts_at, ends_at=ends_at, links=links(**d["links"]), trace_id=d["trace_id"],
        error_code=d["error_code"],
    )


def parse(payload: Any, now: float, start_of: StartOf, max_items: int) -> Parsed:
    alerts = items(payload, max_items)
    parsed = Parsed(SOURCE)
    for index, item in enumerate(alerts):
        result = parse_alert(item, now, start_of)
        if isinstance(result, AlertRecord):
            parsed.records.append(result)
        else:
            parsed.reject(index, result)
    return parsed
