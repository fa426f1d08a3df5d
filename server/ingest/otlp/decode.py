"""OTLP/HTTP trace bodies, protobuf or JSON, decoded into one plain span shape.

Protobuf goes through `opentelemetry-proto`. OTLP/JSON is read by hand: its trace and span
ids are hex, and protobuf's own JSON parser would take them for base64 and decode wrong
bytes without complaint. Enums arrive as integers, 64-bit integers as strings or numbers,
keys in lowerCamelCase; unknown fields are ignored. A body that cannot be read at all is a
ValidationFailed (400); a span that cannot be used carries a `problem` and is rejected
alone (OTLP's partial success).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

import orjson
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from server.errors import ValidationFailed

SPAN_KIND = {"SPAN_KIND_UNSPECIFIED": 0, "SPAN_KIND_INTERNAL": 1, "SPAN_KIND_SERVER": 2, "SPAN_KIND_CLIENT": 3,
             "SPAN_KIND_PRODUCER": 4, "SPAN_KIND_CONSUMER": 5}
STATUS_CODE = {"STATUS_CODE_UNSET": 0, "STATUS_CODE_OK": 1, "STATUS_CODE_ERROR": 2}
_HEX = re.compile(r"^[0-9a-fA-F]*\Z")
_ZERO_TRACE, _ZERO_SPAN = "0" * 32, "0" * 16
MAX_DEPTH = 8  # nested array/kvlist attribute values deeper than this are cut


@dataclass(frozen=True)
class OtlpSpan:
    """One span with its resource's attributes; ids as lowercase hex (parent None at a root)."""

    resource: Mapping[str, Any]
    trace_id: str
    span_id: str
    parent_span_id: str | None
    name: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, Any]
    status_code: int
    status_message: str
    events: tuple[tuple[str, dict[str, Any]], ...]
    problem: str | None = None


def _check_ids(trace_id: str, span_id: str, parent: str) -> str | None:
    if len(trace_id) != 32 or trace_id == _ZERO_TRACE:
        return "traceId must be 16 bytes (32 hex characters), not all zero"
    if len(span_id) != 16 or span_id == _ZERO_SPAN:
        return "spanId must be 8 bytes (16 hex characters), not all zero"
    if parent and len(parent) != 16:
        return "parentSpanId must be 8 bytes (16 hex characters) or empty"
    return None


# -- protobuf ---------------------------------------------------------------------------------

def _pb_value(value: Any, depth: int = 0) -> Any:
    which = value.WhichOneof("value")
    if which is None:
        return None
    if which == "array_value":
        return [_pb_value(v, depth + 1) for v in value.array_value.values] if depth < MAX_DEPTH else None
    if which == "kvlist_value":
        return {kv.key: _pb_value(kv.value, depth + 1) for kv in value.kvlist_value.values} if depth < MAX_DEPTH else None
    if which == "bytes_value":
        return value.bytes_value.hex()
    return getattr(value, which)


def _pb_attributes(attributes: Any) -> dict[str, Any]:
    return {kv.key: _pb_value(kv.value) for kv in attributes}


def spans_from_protobuf(body: bytes) -> list[OtlpSpan]:
    """Every span of an `ExportTraceServiceRequest`; an empty body is an empty request."""
    try:
        request = ExportTraceServiceRequest.FromString(body)
    except (DecodeError, ValueError) as exc:
        raise ValidationFailed(f"the body is not an OTLP ExportTraceServiceRequest in protobuf: {exc}",
                               {"body": ["undecodable protobuf"]}) from None
    spans = []
    for resource_spans in request.resource_spans:
        resource = _pb_attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for s in scope_spans.spans:
                trace_id, span_id, parent = s.trace_id.hex(), s.span_id.hex(), s.parent_span_id.hex()
                spans.append(OtlpSpan(
                    resource, trace_id, span_id, parent or None, s.name, s.kind, s.start_time_unix_nano,
                    s.end_time_unix_nano, _pb_attributes(s.attributes), s.status.code, s.status.message,
                    tuple((e.name, _pb_attributes(e.attributes)) for e in s.events),
                    _check_ids(trace_id, span_id, parent),
                ))
    return spans


# -- JSON -------------------------------------------------------------------------------------

class _Unusable(ValueError):
    """A span field that cannot be read: the span is rejected, its neighbours kept."""


def _field(obj: Mapping[str, Any], camel: str, snake: str) -> Any:
    value = obj.get(camel)
    return obj.get(snake) if value is None else value


def _int64(value: Any, name: str) -> int:
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        raise _Unusable(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.lstrip("-").isdigit() and value.isascii():
        return int(value)
    raise _Unusable(f"{name} must be an integer (a number or a decimal string)")


def _enum(value: Any, names: Mapping[str, int], name: str) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value in names:
        return names[value]
    raise _Unusable(f"{name} must be an integer enum value")


def _hex_id(value: Any, name: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or not _HEX.match(value):
        raise _Unusable(f"{name} must be a hex string")
    return value.lower()


def _json_value(value: Any, depth: int = 0) -> Any:
    if not isinstance(value, Mapping):
        return None
    for key in ("stringValue", "boolValue", "doubleValue"):
        if key in value:
            found = value[key]
            if key == "doubleValue" and isinstance(found, str):
                try:
                    found = float(found)
                except ValueError:
                    return None
            return found if isinstance(found, str | bool | int | float) else None
    if "intValue" in value:
        try:
            return _int64(value["intValue"], "intValue")
        except _Unusable:
            return None
    if "bytesValue" in value:
        return value["bytesValue"] if isinstance(value["bytesValue"], str) else None
    if depth >= MAX_DEPTH:
        return None
    if isinstance(value.get("arrayValue"), Mapping):
        values = value["arrayValue"].get("values") or []
        return [_json_value(v, depth + 1) for v in values] if isinstance(values, list) else None
    if isinstance(value.get("kvlistValue"), Mapping):
        return _json_attributes(value["kvlistValue"].get("values"), depth + 1)
    return None


def _json_attributes(items: Any, depth: int = 0) -> dict[str, Any]:
    if not isinstance(items, list):
        return {}
    return {kv["key"]: _json_value(kv.get("value"), depth) for kv in items
            if isinstance(kv, Mapping) and isinstance(kv.get("key"), str)}


def _json_span(resource: Mapping[str, Any], s: Any) -> OtlpSpan:
    empty = OtlpSpan(resource, "", "", None, "", 0, 0, 0, {}, 0, "", ())
    if not isinstance(s, Mapping):
        return replace(empty, problem="a span must be a JSON object")
    try:
        trace_id = _hex_id(_field(s, "traceId", "trace_id"), "traceId")
        span_id = _hex_id(_field(s, "spanId", "span_id"), "spanId")
        parent = _hex_id(_field(s, "parentSpanId", "parent_span_id"), "parentSpanId")
        name = s.get("name") or ""
        if not isinstance(name, str):
            raise _Unusable("name must be a string")
        status = s.get("status") if isinstance(s.get("status"), Mapping) else {}
        message = status.get("message") or ""
        events = s.get("events") if isinstance(s.get("events"), list) else []
        return OtlpSpan(
            resource, trace_id, span_id, parent or None, name, _enum(s.get("kind"), SPAN_KIND, "kind"),
            _int64(_field(s, "startTimeUnixNano", "start_time_unix_nano"), "startTimeUnixNano"),
            _int64(_field(s, "endTimeUnixNano", "end_time_unix_nano"), "endTimeUnixNano"),
            _json_attributes(s.get("attributes")), _enum(status.get("code"), STATUS_CODE, "status.code"),
            message if isinstance(message, str) else "",
            tuple((e.get("name") if isinstance(e.get("name"), str) else "", _json_attributes(e.get("attributes")))
                  for e in events if isinstance(e, Mapping)),
            _check_ids(trace_id, span_id, parent),
        )
    except _Unusable as exc:
        return replace(empty, trace_id=str(s.get("traceId") or "")[:64], span_id=str(s.get("spanId") or "")[:64],
                       problem=str(exc))


def _list(obj: Mapping[str, Any], camel: str, snake: str, where: str) -> list[Any]:
    value = _field(obj, camel, snake)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValidationFailed(f"malformed OTLP/JSON: {where}{camel} must be an array", {camel: ["must be an array"]})
    return value


def spans_from_json(body: bytes) -> list[OtlpSpan]:
    """Every span of an OTLP/JSON `ExportTraceServiceRequest`; an empty body is an empty request."""
    if not body.strip():
        return []
    try:
        request = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"malformed JSON: {exc}", {"body": ["malformed JSON"]}) from None
    if not isinstance(request, Mapping):
        raise ValidationFailed("malformed OTLP/JSON: expected an object with resourceSpans",
                               {"body": ["must be an object"]})
    spans = []
    for i, resource_spans in enumerate(_list(request, "resourceSpans", "resource_spans", "")):
        if not isinstance(resource_spans, Mapping):
            raise ValidationFailed(f"malformed OTLP/JSON: resourceSpans[{i}] must be an object",
                                   {"resourceSpans": ["items must be objects"]})
        resource_obj = resource_spans.get("resource") if isinstance(resource_spans.get("resource"), Mapping) else {}
        resource = _json_attributes(resource_obj.get("attributes"))
        # scopeSpans; instrumentationLibrarySpans is its name before OTLP 0.15, still sent by old SDKs.
        scopes = (_list(resource_spans, "scopeSpans", "scope_spans", f"resourceSpans[{i}].")
                  or _list(resource_spans, "instrumentationLibrarySpans", "instrumentation_library_spans",
                           f"resourceSpans[{i}]."))
        for j, scope_spans in enumerate(scopes):
            if not isinstance(scope_spans, Mapping):
                raise ValidationFailed(f"malformed OTLP/JSON: resourceSpans[{i}].scopeSpans[{j}] must be an object",
                                       {"scopeSpans": ["items must be objects"]})
            for s in _list(scope_spans, "spans", "spans", f"resourceSpans[{i}].scopeSpans[{j}]."):
                spans.append(_json_span(resource, s))
    return spans
