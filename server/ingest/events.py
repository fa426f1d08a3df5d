"""Wide events: validation (marshmallow, with a fast path for well-formed items) and storage.

The marshmallow schema is the specification and writes every error message; the fast
path accepts only items it can prove the schema would accept, producing the same record
(a property test holds them to that), and hands everything else to the schema.
"""

from __future__ import annotations

import re
import secrets
import threading
from dataclasses import dataclass, field
from typing import Any

import orjson
from marshmallow import INCLUDE, Schema, ValidationError, fields, post_load, validate, validates_schema

from server.config import Settings
from server.errors import PayloadTooLarge, ValidationFailed
from server.ingest.fields import ENV_DEFAULT, MAX_ATTRIBUTES_BYTES, JsonObject, Timestamp, check_not_future
from server.store import db as store
from server.store.events import EventRecord, insert_events
from server.store.signals import SignalRecord, insert_signals, remember_version

ID_PATTERN = re.compile(r"^[0-9A-Za-z_.:-]{1,64}$")
KNOWN = frozenset({
    "ts", "service", "env", "version", "kind", "peer", "step", "status", "error_code", "duration_ms",
    "trace_id", "span_id", "parent_span_id", "user_id", "attributes",
})
LIMITS = {"service": 128, "env": 64, "version": 128, "peer": 256, "step": 256, "error_code": 128,
          "user_id": 256}


def _text(name: str, **kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Length(1, LIMITS[name]), **kwargs)


def _ident(**kwargs: Any) -> fields.String:
    return fields.String(validate=validate.Regexp(ID_PATTERN, error="must be 1-64 characters of [0-9A-Za-z_.:-]"),
                         allow_none=True, load_default=None, **kwargs)


class EventSchema(Schema):
    class Meta:
        unknown = INCLUDE  # unknown top-level fields are kept, moved into attributes

    ts = Timestamp(load_default=None, allow_none=True)
    service = _text("service", required=True)
    env = _text("env", load_default=ENV_DEFAULT)
    version = _text("version", load_default=None, allow_none=True)
    kind = fields.String(load_default="request", validate=validate.OneOf(("request", "dependency")))
    peer = _text("peer", load_default=None, allow_none=True)
    step = _text("step", required=True)
    status = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("ok", "error")))
    error_code = _text("error_code", load_default=None, allow_none=True)
    duration_ms = fields.Float(load_default=None, allow_none=True, allow_nan=False,
                               validate=validate.Range(0, 1e9))
    trace_id = _ident()
    span_id = _ident()
    parent_span_id = _ident()
    user_id = _text("user_id", load_default=None, allow_none=True)
    attributes = JsonObject(load_default=dict, allow_none=True)

    @validates_schema
    def _dependency_needs_peer(self, data: dict, **kwargs: Any) -> None:
        if data.get("kind") == "dependency" and not data.get("peer"):
            raise ValidationError("required when kind is dependency", "peer")

    @post_load
    def _gather_unknown(self, data: dict, **kwargs: Any) -> dict:
        extra = {k: data.pop(k) for k in list(data) if k not in KNOWN}
        attributes = data.get("attributes") or {}
        if extra:
            attributes = {**extra, **attributes}
            if len(orjson.dumps(attributes)) > MAX_ATTRIBUTES_BYTES:
                raise ValidationError(f"with unknown top-level fields must encode to at most"
                                      f" {MAX_ATTRIBUTES_BYTES} bytes", "attributes")
        data["attributes"] = attributes
        return data


_schema = EventSchema()


def _finish(d: dict, now: float, skew: float) -> EventRecord | dict:
    """Defaults that depend on other fields, then the record; a dict of errors if the time is off."""
    ts = now if d.get("ts") is None else d["ts"]
    problem = check_not_future(ts, now, skew)
    if problem:
        return {"ts": [problem]}
    error_code = d.get("error_code")
    status = d.get("status") or ("error" if error_code else "ok")
    if status == "error" and not error_code:
        error_code = "unknown"
    attributes = d.get("attributes") or None
    return EventRecord(
        ts, now, d["service"], d.get("env") or ENV_DEFAULT, d.get("version"), d.get("kind") or "request",
        d.get("peer"), d["step"], status, error_code, d.get("duration_ms"), d.get("trace_id"),
        d.get("span_id"), d.get("parent_span_id"), d.get("user_id"),
        orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode() if attributes else None,
    )


def _fast(item: Any, now: float, skew: float) -> EventRecord | dict | None:
    """The record for an item made only of well-formed known fields; None to ask the schema."""
    if type(item) is not dict or not KNOWN.issuperset(item):
        return None
    for name, cap in LIMITS.items():
        value = item.get(name)
        if value is not None and (type(value) is not str or not 0 < len(value) <= cap):
            return None
    if type(item.get("service")) is not str or type(item.get("step")) is not str:
        return None
    if item.get("env", "") is None:
        return None
    ts = item.get("ts")
    if ts is not None and (type(ts) not in (int, float) or not 0 <= ts < 1e11):
        return None
    if item.get("kind", "request") not in ("request", "dependency"):
        return None
    if item.get("kind") == "dependency" and not item.get("peer"):
        return None
    if item.get("status") not in (None, "ok", "error"):
        return None
    duration = item.get("duration_ms")
    if duration is not None and (type(duration) not in (int, float) or not 0 <= duration <= 1e9):
        return None
    for name in ("trace_id", "span_id", "parent_span_id"):
        value = item.get(name)
        if value is not None and (type(value) is not str or not ID_PATTERN.match(value)):
            return None
    attributes = item.get("attributes")
    if attributes is not None and (type(attributes) is not dict or len(orjson.dumps(attributes)) > MAX_ATTRIBUTES_BYTES):
        return None
    d = dict(item)
    if ts is not None:
        d["ts"] = float(ts)
    if duration is not None:
        d["duration_ms"] = float(duration)
    return _finish(d, now, skew)


def validate_event(item: Any, now: float, skew: float) -> EventRecord | dict:
    """An EventRecord, or a dict mapping each bad field to its messages."""
    fast = _fast(item, now, skew)
    if fast is not None:
        return fast
    if not isinstance(item, dict):
        return {"_item": ["must be a JSON object"]}
    try:
        data = _schema.load(item)
    except ValidationError as exc:
        return exc.messages if isinstance(exc.messages, dict) else {"_item": exc.messages}
    return _finish(data, now, skew)


def items_of(payload: Any, key: str, max_items: int) -> list:
    """The items of a batch sent as a JSON array, or as an object holding it under `key`."""
    if isinstance(payload, dict) and key in payload:
        payload = payload[key]
    if not isinstance(payload, list):
        raise ValidationFailed(f"expected a JSON array of {key}, or {{\"{key}\": [...]}}",
                               {key: ["must be an array"]})
    if len(payload) > max_items:
        raise PayloadTooLarge(f"at most {max_items} {key} per request", {key: [f"got {len(payload)}"]})
    return payload


@dataclass
class BatchResult:
    accepted: int
    rejected: list[dict[str, Any]] = field(default_factory=list)
    deploys: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


_seen_versions: set[tuple[str, str, str]] = set()
_seen_lock = threading.Lock()


def ingest_events(payload: Any, settings: Settings, now: float) -> BatchResult:
    """Validate a batch and commit its good events in one transaction.

    Returns how many were accepted and, for each rejected item, its index and field errors.
    Raises ValidationFailed when no item is good (nothing is stored then).
    """
    items = items_of(payload, "events", settings.max_batch_items)
    records: list[EventRecord] = []
    rejected: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        result = validate_event(item, now, settings.max_clock_skew_seconds)
        if isinstance(result, EventRecord):
            records.append(result)
        else:
            rejected.append({"index": index, "fields": result})
    if rejected and not records:
        raise ValidationFailed(f"all {len(items)} events were rejected", {"events": rejected})
    if not records:
        return BatchResult(0)
    versions = _new_versions(records)
    deploys: list[SignalRecord] = []
    with store.write_transaction():
        insert_events(records, settings.bucket_seconds)
        for (service, env, version), first_ts in versions.items():
            previous = remember_version(service, env, version, first_ts)
            if previous is not None:
                deploys.append(_auto_deploy(service, env, version, previous, first_ts, now))
        insert_signals(deploys)
    with _seen_lock:
        if len(_seen_versions) > 100_000:
            _seen_versions.clear()
        _seen_versions.update(versions)
    return BatchResult(len(records), rejected, [d.signal_id for d in deploys])


def _new_versions(records: list[EventRecord]) -> dict[tuple[str, str, str], float]:
    found: dict[tuple[str, str, str], float] = {}
    for r in records:
        if r.version is not None:
            key = (r.service, r.env, r.version)
            if key not in _seen_versions and (key not in found or r.ts < found[key]):
                found[key] = r.ts
    return found


def new_signal_id(now: float) -> str:
    return f"sig_{int(now * 1000):012x}{secrets.token_hex(5)}"


def _auto_deploy(service: str, env: str, version: str, previous: str, ts: float, now: float) -> SignalRecord:
    # A version that appears in traffic is a deploy even when CI never said so.
    return SignalRecord(
        new_signal_id(now), now, ts, "deploy", service, env, "onset.auto",
        f"new version {version} seen in traffic (was {previous})", None,
        {"version": version, "previous_version": previous, "auto": True}, {},
    )
