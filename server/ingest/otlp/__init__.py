"""OTLP/HTTP traces: decode (protobuf or JSON), map spans to wide events, and store them
through the same validation and write as POST /v1/events (so a new `service.version`
registers a deploy there too)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from server.config import Settings
from server.errors import ValidationFailed
from server.ingest.events import ingest_events
from server.ingest.otlp.decode import OtlpSpan
from server.ingest.otlp.spans import events_of

MAX_MESSAGES = 5


@dataclass(frozen=True)
class TraceResult:
    """What OTLP's answer reports: spans stored as events, spans rejected and why."""

    accepted: int
    rejected: int
    skipped: int
    error_message: str


def _describe(span: OtlpSpan, fields: Any) -> str:
    if isinstance(fields, dict):
        text = "; ".join(f"{name}: {', '.join(map(str, msgs)) if isinstance(msgs, list) else msgs}"
                         for name, msgs in sorted(fields.items()))
    else:
        text = str(fields)
    return f"span {span.span_id or '?'} of trace {span.trace_id or '?'}: {text}"


def ingest_traces(spans: list[OtlpSpan], settings: Settings, now: float) -> TraceResult:
    """Store the events of `spans` in one transaction; a bad span is rejected alone."""
    mapped = events_of(spans)
    problems = [_describe(span, why) for span, why in mapped.problems]
    accepted = 0
    if mapped.items:
        # An export is bounded by the body cap, not by ONSET_MAX_BATCH_ITEMS: the Collector
        # batches 8192 spans by default, and a 413 would make it drop them all.
        batch = dataclasses.replace(settings, max_batch_items=max(settings.max_batch_items, len(mapped.items)))
        try:
            result = ingest_events(mapped.items, batch, now)
            accepted, rejected = result.accepted, result.rejected
        except ValidationFailed as exc:  # every span was bad: nothing stored, each one reported
            rejected = exc.fields.get("events", [])
        problems += [_describe(mapped.spans[r["index"]], r["fields"]) for r in rejected]
    message = ""
    if problems:
        shown = "; ".join(problems[:MAX_MESSAGES])
        more = f" (and {len(problems) - MAX_MESSAGES} more)" if len(problems) > MAX_MESSAGES else ""
        message = f"{len(problems)} span(s) rejected: {shown}{more}"
    return TraceResult(accepted, len(problems), mapped.skipped, message)
