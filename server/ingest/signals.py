"""Signals and the deploy short form: validation and storage.

`signal_id` and `received_at` belong to the server: whatever a sender puts there is
discarded. Unknown top-level fields are kept and returned as they came.
"""

from __future__ import annotations

from typing import Any

from marshmallow import INCLUDE, Schema, ValidationError, fields, validate

from server.config import Settings
from server.errors import ValidationFailed
from server.ingest.events import BatchResult, items_of, new_signal_id
from server.ingest.fields import (
    ENV_DEFAULT,
    MAX_ATTRIBUTES_BYTES,
    TOO_DEEP_MESSAGE,
    JsonObject,
    Text,
    Timestamp,
    check_not_future,
    encoded_size,
)
from server.store import db as store
from server.store.signals import SignalRecord, insert_signals

SIGNAL_TYPES = ("deploy", "dependency", "runtime", "alert", "config")
SERVER_OWNED = ("signal_id", "received_at")
REASON_MAX = 256
MESSAGE_MAX = 2048


class SignalSchema(Schema):
    class Meta:
        unknown = INCLUDE

    type = fields.String(required=True, validate=validate.OneOf(SIGNAL_TYPES))
    service = Text(required=True, validate=validate.Length(1, 128))
    env = Text(load_default=ENV_DEFAULT, validate=validate.Length(1, 64))
    source = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    reason = Text(load_default=None, allow_none=True, validate=validate.Length(1, REASON_MAX))
    message = Text(load_default=None, allow_none=True, validate=validate.Length(0, MESSAGE_MAX))
    ts = Timestamp(load_default=None, allow_none=True)
    attributes = JsonObject(load_default=dict, allow_none=True)


class DeploySchema(Schema):
    class Meta:
        unknown = INCLUDE

    service = Text(required=True, validate=validate.Length(1, 128))
    version = Text(required=True, validate=validate.Length(1, 128))
    env = Text(load_default=ENV_DEFAULT, validate=validate.Length(1, 64))
    commit = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    pr_url = Text(load_default=None, allow_none=True, validate=validate.Length(1, 2048))
    author = Text(load_default=None, allow_none=True, validate=validate.Length(1, 256))
    source = Text(load_default=None, allow_none=True, validate=validate.Length(1, 128))
    message = Text(load_default=None, allow_none=True, validate=validate.Length(0, MESSAGE_MAX))
    ts = Timestamp(load_default=None, allow_none=True)
    attributes = JsonObject(load_default=dict, allow_none=True)


_signal_schema = SignalSchema()
_deploy_schema = DeploySchema()


def _split_known(schema: Schema, data: dict) -> tuple[dict, dict]:
    known = {k: v for k, v in data.items() if k in schema.fields}
    extra = {k: v for k, v in data.items() if k not in schema.fields and k not in SERVER_OWNED}
    return known, extra


def _load(schema: Schema, item: Any, now: float, skew: float) -> tuple[dict, dict] | dict:
    if not isinstance(item, dict):
        return {"_item": ["must be a JSON object"]}
    try:
        data = schema.load(item)
    except ValidationError as exc:
        return exc.messages if isinstance(exc.messages, dict) else {"_item": exc.messages}
    known, extra = _split_known(schema, data)
    size = encoded_size(extra) if extra else 0
    if size is None:
        return {"_item": [f"unknown fields {TOO_DEEP_MESSAGE}"]}
    if size > MAX_ATTRIBUTES_BYTES:
        return {"_item": [f"unknown fields must encode to at most {MAX_ATTRIBUTES_BYTES} bytes"]}
    known["ts"] = now if known.get("ts") is None else known["ts"]
    problem = check_not_future(known["ts"], now, skew)
    if problem:
        return {"ts": [problem]}
    return known, extra


def validate_signal(item: Any, now: float, skew: float) -> SignalRecord | dict:
    loaded = _load(_signal_schema, item, now, skew)
    if isinstance(loaded, dict):
        return loaded
    d, extra = loaded
    return SignalRecord(new_signal_id(now), now, d["ts"], d["type"], d["service"], d["env"], d.get("source"),
                        d.get("reason"), d.get("message"), d.get("attributes") or {}, extra)


def validate_deploy(item: Any, now: float, skew: float) -> SignalRecord | dict:
    loaded = _load(_deploy_schema, item, now, skew)
    if isinstance(loaded, dict):
        return loaded
    d, extra = loaded
    attributes = dict(d.get("attributes") or {})
    for name in ("version", "commit", "pr_url", "author"):
        if d.get(name) is not None:
            attributes[name] = d[name]
    return SignalRecord(new_signal_id(now), now, d["ts"], "deploy", d["service"], d["env"],
                        d.get("source") or "deploy-api", f"deployed {d['version']}", d.get("message"),
                        attributes, extra)


def ingest_signals(payload: Any, settings: Settings, now: float, *, deploys: bool = False) -> tuple[BatchResult, list[SignalRecord]]:
    """Validate one signal or a batch and commit the good ones in one transaction."""
    single = isinstance(payload, dict) and "signals" not in payload
    items = [payload] if single else items_of(payload, "signals", settings.max_batch_items)
    check = validate_deploy if deploys else validate_signal
    records: list[SignalRecord] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        result = check(item, now, settings.max_clock_skew_seconds)
        if isinstance(result, SignalRecord):
            records.append(result)
        else:
            rejected.append({"index": index, "fields": result})
    if rejected and not records:
        if single:
            raise ValidationFailed("the signal was rejected", rejected[0]["fields"])
        raise ValidationFailed(f"all {len(items)} signals were rejected", {"signals": rejected})
    with store.write_transaction():
        insert_signals(records)
    return BatchResult(len(records), rejected), records
