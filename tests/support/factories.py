"""Small builders of plain data for tests: families, spans, origins, changes, events.

Every builder takes keyword overrides and fills the rest with ordinary values, so a
test names only what it is about.
"""

from __future__ import annotations

from typing import Any

import orjson

from server.engine.model import Change, Family, Origin, PathStep, Span
from server.store.events import EventRecord

# 2023-11-14 22:13:20 UTC: on the 10 s bucket grid, 20 s past a minute boundary.
T0 = 1_700_000_000.0


def family(service: str = "checkout", step: str = "POST /checkout", error_code: str = "E500",
           env: str = "production") -> Family:
    return Family(service, env, step, error_code)


def span(span_id: str, parent: str | None, service: str, step: str, *, trace_id: str = "t1",
         kind: str = "request", peer: str | None = None, status: str = "error",
         error_code: str | None = "E500", ts: float = T0, version: str | None = None) -> Span:
    return Span(trace_id, span_id, parent, service, step, kind, peer, status, error_code, ts, version)


def checkout_trace(trace_id: str, ts: float = T0) -> list[Span]:
    """The failing spans of one request through gateway -> checkout -> payment -> card-processor.

    card-processor is an external API: only payment's outgoing call to it is seen, and it
    fails; every caller above fails because of it.
    """
    return [
        span(f"{trace_id}-g", None, "gateway", "POST /api/checkout", trace_id=trace_id,
             error_code="E502", ts=ts),
        span(f"{trace_id}-c", f"{trace_id}-g", "checkout", "POST /checkout", trace_id=trace_id,
             error_code="E502", ts=ts + 0.01),
        span(f"{trace_id}-p", f"{trace_id}-c", "payment", "POST /charge", trace_id=trace_id,
             error_code="upstream_timeout", ts=ts + 0.02),
        span(f"{trace_id}-d", f"{trace_id}-p", "payment", "card-processor POST /authorize",
             trace_id=trace_id, kind="dependency", peer="card-processor", error_code="timeout",
             ts=ts + 0.03),
    ]


def origin(service: str = "payment", step: str = "POST /charge", *, via: str | None = None,
           error_code: str | None = "E500", path: tuple[PathStep, ...] | None = None,
           traces_seen: int = 5, traces_agreeing: int = 5, status: str = "ok",
           first_failure_ts: float | None = T0, sample_traces: tuple[str, ...] | None = None) -> Origin:
    """An origin as find_origin would report it; `status="missing"` means no traces at all."""
    if status == "missing":
        return Origin("", "", None, None, (), 0, 0, (), "missing", "no failing events carry trace ids", None)
    if path is None:
        path = (PathStep("gateway", "POST /api/checkout", "request", None, "E502"),
                PathStep(service, step, "request", None, error_code))
    if sample_traces is None:
        sample_traces = tuple(f"t{i}" for i in range(traces_agreeing))
    return Origin(service, step, via, error_code, path, traces_seen, traces_agreeing, sample_traces,
                  status, None, first_failure_ts)


def change(type: str, service: str, ts: float, *, evidence_id: str | None = None, reason: str | None = None,
           message: str | None = None, **attributes: Any) -> Change:
    return Change(evidence_id or f"sig_{type}_{service}_{int(ts)}", type, service, ts, reason, message,
                  dict(attributes))


def event(ts: float, service: str = "checkout", step: str = "POST /checkout", *, status: str = "ok",
          error_code: str | None = None, env: str = "production", version: str | None = None,
          kind: str = "request", peer: str | None = None, trace_id: str | None = None,
          span_id: str | None = None, parent_span_id: str | None = None, user_id: str | None = None,
          duration_ms: float | None = 12.0, attributes: dict | None = None,
          received_at: float | None = None) -> EventRecord:
    """A stored event as ingest would write it (status follows error_code when not given)."""
    if error_code is not None and status == "ok":
        status = "error"
    return EventRecord(ts, ts if received_at is None else received_at, service, env, version, kind, peer, step,
                       status, error_code, duration_ms, trace_id, span_id, parent_span_id, user_id,
                       orjson.dumps(attributes, option=orjson.OPT_SORT_KEYS).decode() if attributes else None)


def nested(depth: int) -> dict:
    """A JSON object `depth` levels deep: {"a": {"a": ... {}}}."""
    value: dict = {}
    for _ in range(depth - 1):
        value = {"a": value}
    return value
