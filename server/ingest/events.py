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
from server.store.durations import duration_rows, write_durations
from server.store.events import EventRecord, counter_rows, write_events
from server.store.signals import SignalRecord, insert_signals, remember_version

ID_PATTERN = re.compile(r"^[0-9A-Za-z_.:-]{1,64}\Z")  # \Z: "$" would let a trailing newline in
KNOWN = frozenset({
    "ts", "service", "env", "version", "kind", "peer", "step", "status", "error_code", "duration_ms",
    "trace_id", "span_id", "parent_span_id", "user_id", "attributes",
})
LIMITS = {"service": 128, "env": 64, "version": 128, "peer": 256, "step": 256, "error_code": 128,
          "user_id": 256}


def _text(name: str, **kwargs: Any) -> Text:
    return Text(validate=validate.Length(1, LIMITS[name]), **kwargs)


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
            size = encoded_size(attributes)
            if size is None:
                raise ValidationError(f"with unknown top-level fields {TOO_DEEP_MESSAGE}", "attributes")
            if size > MAX_ATTRIBUTES_BYTES:
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


_ID_MATCH = ID_PATTERN.match
_SORT_KEYS = orjson.OPT_SORT_KEYS
_new_record = tuple.__new__
_SERVICE_MAX, _ENV_MAX, _VERSION_MAX, _PEER_MAX, _STEP_MAX, _ERROR_CODE_MAX, _USER_ID_MAX = (
    LIMITS[name] for name in ("service", "env", "version", "peer", "step", "error_code", "user_id"))


def _fast(item: Any, now: float, skew: float) -> EventRecord | dict | None:
    """The record for an item made only of well-formed known fields; None to ask the schema.

    Runs once per ingested event, so it is written flat: every check inline, one lookup per
    field, one JSON encoding of the attributes (sorting keys changes no length, so the
    encoding that is stored also decides the size check).
    """
    if type(item) is not dict or not KNOWN.issuperset(item):
        return None
    get = item.get
    service = get("service")
    if type(service) is not str or not 0 < len(service) <= _SERVICE_MAX or "\x00" in service:
        return None
    step = get("step")
    if type(step) is not str or not 0 < len(step) <= _STEP_MAX or "\x00" in step:
        return None
    env = get("env", ENV_DEFAULT)
    if type(env) is not str or not 0 < len(env) <= _ENV_MAX or "\x00" in env:
        return None
    version = get("version")
    if version is not None and (type(version) is not str or not 0 < len(version) <= _VERSION_MAX
                                or "\x00" in version):
        return None
    peer = get("peer")
    if peer is not None and (type(peer) is not str or not 0 < len(peer) <= _PEER_MAX or "\x00" in peer):
        return None
    error_code = get("error_code")
    if error_code is not None and (type(error_code) is not str or not 0 < len(error_code) <= _ERROR_CODE_MAX
                                   or "\x00" in error_code):
        return None
    user_id = get("user_id")
    if user_id is not None and (type(user_id) is not str or not 0 < len(user_id) <= _USER_ID_MAX
                                or "\x00" in user_id):
        return None
    kind = get("kind", "request")
    if kind != "request" and (kind != "dependency" or peer is None):
        return None
    status = get("status")
    if status is None:
        status = "ok" if error_code is None else "error"
    elif status != "ok" and status != "error":
        return None
    if error_code is None and status == "error":
        error_code = "unknown"
    ts = get("ts")
    if ts is None:
        ts = now
    elif (type(ts) is float or type(ts) is int) and 0 <= ts < 1e11:
        ts = float(ts)
    else:
        return None
    duration = get("duration_ms")
    if duration is not None:
        if (type(duration) is not float and type(duration) is not int) or not 0 <= duration <= 1e9:
            return None
        duration = float(duration)
    trace_id = get("trace_id")
    if trace_id is not None and (type(trace_id) is not str or _ID_MATCH(trace_id) is None):
        return None
    span_id = get("span_id")
    if span_id is not None and (type(span_id) is not str or _ID_MATCH(span_id) is None):
        return None
    parent_span_id = get("parent_span_id")
    if parent_span_id is not None and (type(parent_span_id) is not str or _ID_MATCH(parent_span_id) is None):
        return None
    attributes = get("attributes")
    if attributes is not None:
        if type(attributes) is not dict:
            return None
        try:
            encoded = orjson.dumps(attributes, option=_SORT_KEYS)
        except orjson.JSONEncodeError:  # nested too deep to write back
            return None
        if len(encoded) > MAX_ATTRIBUTES_BYTES:
            return None
        attributes = encoded.decode() if attributes else None
    problem = check_not_future(ts, now, skew)
    if problem:
        return {"ts": [problem]}
    return _new_record(EventRecord, (ts, now, service, env, version, kind, peer, step, status, error_code, duration,
                                     trace_id, span_id, parent_span_id, user_id, attributes))


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
    counts = counter_rows(records, settings.bucket_seconds)  # before the write lock, not under it
    durations = duration_rows(records, settings.bucket_seconds)  # the sentinel's latency histograms
    deploys: list[SignalRecord] = []
    with store.write_transaction():
        write_events(records, counts)
        write_durations(durations)
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
