"""Spans as wide events: the same items a client would POST to /v1/events. Pure.

* SERVER and CONSUMER spans, and root spans, are request events of their service; CLIENT
  (and PRODUCER) spans are dependency events whose peer is `peer.service`,
  `server.address` or `net.peer.name`; other spans (INTERNAL work inside a request) are
  not events, and a kept span whose parent is one of them points to the nearest kept
  ancestor instead, so the causal path stays linked.
* service, version and env come from the resource (`service.name`, `service.version`,
  `deployment.environment.name`, or the older `deployment.environment`).
* A span failed when its status is ERROR or `http.response.status_code` >= 500 (>= 400 for
  a call out). Its error code is the exception event's `exception.type`, else the HTTP
  status, else the status message.
* The step is the HTTP route with its method, else the span name (a call out named only
  by its method is named after its peer too: `payment POST`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.ingest.events import LIMITS
from server.ingest.fields import MAX_ATTRIBUTES_BYTES
from server.ingest.otlp.decode import OtlpSpan

INTERNAL, SERVER, CLIENT, PRODUCER, CONSUMER = 1, 2, 3, 4, 5
KIND_NAMES = {0: "unspecified", 1: "internal", 2: "server", 3: "client", 4: "producer", 5: "consumer"}
STATUS_ERROR = 2
UNKNOWN_SERVICE = "unknown_service"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH", "_OTHER"})
PEER_KEYS = ("peer.service", "server.address", "net.peer.name", "rpc.service", "messaging.destination.name",
             "db.system", "http.host")
MAX_ATTRIBUTE_TEXT = 2048
MAX_STACKTRACE = 4096


@dataclass
class MappedSpans:
    """Event items in span order; `spans[i]` is the span of `items[i]`. `problems` holds a
    span and why it cannot be an event; `skipped` counts spans that are not events."""

    items: list[dict[str, Any]] = field(default_factory=list)
    spans: list[OtlpSpan] = field(default_factory=list)
    problems: list[tuple[OtlpSpan, str]] = field(default_factory=list)
    skipped: int = 0


def event_kind(span: OtlpSpan) -> str | None:
    if span.kind in (CLIENT, PRODUCER):
        return "dependency"
    if span.kind in (SERVER, CONSUMER) or span.parent_span_id is None:
        return "request"
    return None


def _text(value: Any) -> str | None:
    if value is None or isinstance(value, dict | list):
        return None
    text = str(value).replace("\x00", "")
    return text or None


def _cut(value: str | None, limit: int) -> str | None:
    return value if value is None or len(value) <= limit else value[:limit]


def _first(attributes: Mapping[str, Any], keys: Sequence[str]) -> str | None:
    for key in keys:
        value = _text(attributes.get(key))
        if value:
            return value
    return None


def _http_status(attributes: Mapping[str, Any]) -> int | None:
    value = attributes.get("http.response.status_code", attributes.get("http.status_code"))
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None


def _exception(span: OtlpSpan) -> dict[str, Any] | None:
    """The attributes of the span's last `exception` event (the one that ended it)."""
    found = None
    for name, attributes in span.events:
        if name == "exception" and attributes.get("exception.type") is not None:
            found = attributes
    return found


def _step(span: OtlpSpan, kind: str, peer: str | None) -> str | None:
    a = span.attributes
    method = _text(a.get("http.request.method") or a.get("http.method"))
    route = _text(a.get("http.route") or a.get("url.template"))
    if route:
        return f"{method} {route}" if method else route
    name = (_text(span.name) or "").strip()
    if kind == "dependency" and peer and (name.upper() in HTTP_METHODS or name.upper() == f"HTTP {method}"):
        return f"{peer} {method or name}"
    return name or method


def _attributes(span: OtlpSpan, exception: Mapping[str, Any] | None) -> dict[str, Any]:
    """The span's attributes with what the mapping read, bounded to what an event may carry."""
    found: dict[str, Any] = {}
    for key, value in span.attributes.items():
        if isinstance(value, str):
            found[key] = value[:MAX_ATTRIBUTE_TEXT]
        elif value is not None:
            found[key] = value
    found["otel.span_name"] = span.name[:MAX_ATTRIBUTE_TEXT]
    found["otel.kind"] = KIND_NAMES.get(span.kind, str(span.kind))
    if span.status_message:
        found["otel.status_message"] = span.status_message[:MAX_ATTRIBUTE_TEXT]
    if exception:
        for key, limit in (("exception.type", 256), ("exception.message", MAX_ATTRIBUTE_TEXT),
                           ("exception.stacktrace", MAX_STACKTRACE)):
            value = _text(exception.get(key))
            if value:
                found[key] = value[:limit]
    # Largest values go first until the whole fits the event's attribute cap.
    by_size = sorted(found, key=lambda k: len(orjson.dumps(found[k])))
    while by_size and len(orjson.dumps(found)) > MAX_ATTRIBUTES_BYTES:
        del found[by_size.pop()]
    return found


def wide_event(span: OtlpSpan, kind: str, parent_span_id: str | None) -> dict[str, Any]:
    """The event item of one span (see the module doc); validation happens in ingest.events."""
    resource, a = span.resource, span.attributes
    peer = _cut(_first(a, PEER_KEYS), LIMITS["peer"]) if kind == "dependency" else None
    if kind == "dependency" and not peer:
        peer = "unknown"
    status = _http_status(a)
    failed = span.status_code == STATUS_ERROR or (status is not None and status >= (400 if kind == "dependency"
                                                                                       else 500))
    exception = _exception(span)
    error_code = None
    if failed:
        error_code = (_text(exception.get("exception.type")) if exception else None) or (
            str(status) if status is not None and status >= 400 else None) or _text(span.status_message)
    event: dict[str, Any] = {
        "service": _cut(_text(resource.get("service.name")) or UNKNOWN_SERVICE, LIMITS["service"]),
        "kind": kind,
        "step": _cut(_step(span, kind, peer), LIMITS["step"]),
        "status": "error" if failed else "ok",
        "trace_id": span.trace_id,
        "span_id": span.span_id,
        "attributes": _attributes(span, exception),
    }
    env = _text(resource.get("deployment.environment.name") or resource.get("deployment.environment"))
    optional = {
        "env": _cut(env, LIMITS["env"]), "version": _cut(_text(resource.get("service.version")), LIMITS["version"]),
        "peer": peer, "error_code": _cut(error_code, LIMITS["error_code"]), "parent_span_id": parent_span_id,
        "user_id": _cut(_first(a, ("enduser.id", "user.id")), LIMITS["user_id"]),
        "ts": span.start_ns / 1e9 if span.start_ns > 0 else None,
        "duration_ms": (span.end_ns - span.start_ns) / 1e6 if span.end_ns >= span.start_ns > 0 else None,
    }
    event.update((k, v) for k, v in optional.items() if v is not None)
    return event


def events_of(spans: Sequence[OtlpSpan]) -> MappedSpans:
    """The event items of a batch of spans, in order."""
    kinds = [None if s.problem else event_kind(s) for s in spans]
    by_id = {(s.trace_id, s.span_id): (s, k) for s, k in zip(spans, kinds, strict=True) if not s.problem}
    mapped = MappedSpans()
    for span, kind in zip(spans, kinds, strict=True):
        if span.problem:
            mapped.problems.append((span, span.problem))
            continue
        if kind is None:
            mapped.skipped += 1
            continue
        parent, hops = span.parent_span_id, 0
        while (span.trace_id, parent) in by_id and by_id[(span.trace_id, parent)][1] is None and hops < 64:
            parent, hops = by_id[(span.trace_id, parent)][0].parent_span_id, hops + 1
        mapped.items.append(wide_event(span, kind, parent))
        mapped.spans.append(span)
    return mapped
