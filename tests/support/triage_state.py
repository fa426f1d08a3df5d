"""Plain-data incident states for unit tests of evidence and the report: an incident as
`store.incidents.get_incident` returns it, with snapshots made by the real pure builders.

`incident_state()` is the payment → card-processor dependency failure; keyword overrides
change one thing at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from server.engine.model import Family
from server.evidence.alerts import alerts_snapshot
from server.evidence.blast import FamilyCounts, Trend, blast_snapshot
from server.evidence.change import change_snapshot
from server.evidence.propagation import propagation_snapshot
from server.evidence.similar import similar_snapshot
from server.store.signals import SignalRecord
from server.store.traces import TraceEvent, TraceRead

T0 = 1_700_000_000.0
ONSET = T0 + 5
INCIDENT_ID = "inc_20231114_2213_57c419"
PAYMENT = Family("payment", "production", "POST /charge", "upstream_timeout")


def trace_event(trace: str, span: str, parent: str | None, service: str, step: str, *, ts: float,
                kind: str = "request", peer: str | None = None, error_code: str | None = "E502",
                user: str | None = None, version: str | None = None, attributes: dict | None = None,
                row_id: int = 0, duration_ms: float | None = 20.0) -> TraceEvent:
    status = "error" if error_code else "ok"
    return TraceEvent(row_id, trace, span, parent, service, "production", version, kind, peer, step, status,
                      error_code, duration_ms, ts, user, attributes or {})


def failing_trace(trace: str, ts: float = ONSET, *, user: str | None = "u1", silent_checkout: bool = False,
                  gateway_ok: bool = False) -> list[TraceEvent]:
    """gateway → checkout → payment → card-processor, the call to card-processor timing out."""
    events = [
        trace_event(trace, f"{trace}-g", None, "gateway", "POST /api/checkout", ts=ts, user=user,
                    error_code=None if gateway_ok else "E502"),
        trace_event(trace, f"{trace}-gc", f"{trace}-g", "gateway", "checkout POST /checkout", ts=ts + 0.001,
                    kind="dependency", peer="checkout", error_code=None if gateway_ok else "E502"),
        trace_event(trace, f"{trace}-c", f"{trace}-gc", "checkout", "POST /checkout", ts=ts + 0.002),
        trace_event(trace, f"{trace}-cp", f"{trace}-c", "checkout", "payment POST /charge", ts=ts + 0.003,
                    kind="dependency", peer="payment"),
        trace_event(trace, f"{trace}-p", f"{trace}-cp", "payment", "POST /charge", ts=ts + 0.004,
                    error_code="upstream_timeout"),
        trace_event(trace, f"{trace}-pd", f"{trace}-p", "payment", "card-processor POST /authorize", ts=ts + 0.005,
                    kind="dependency", peer="card-processor", error_code="timeout", duration_ms=3000.0),
    ]
    if silent_checkout:
        events = [e for e in events if e.service != "checkout"]
    return events


def read(trace: str, events: Sequence[TraceEvent]) -> TraceRead:
    return TraceRead(trace, tuple(events), sum(e.failed for e in events), "neighbourhood", 2000, False)


ORIGIN = {
    "service": "payment", "step": "POST /charge", "via": "card-processor", "error_code": "timeout",
    "status": "ok", "status_reason": None, "traces_seen": 3, "traces_agreeing": 3,
    "path": [{"service": "gateway", "step": "POST /api/checkout", "kind": "request", "peer": None, "error_code": "E502"},
             {"service": "payment", "step": "POST /charge", "kind": "request", "peer": None,
              "error_code": "upstream_timeout"}],
    "first_failure_ts": ONSET + 0.005,
}


def signal_record(signal_id: str, type: str, service: str, ts: float, *, reason: str | None = None,
                  source: str | None = "ci", message: str | None = None, **attributes: Any) -> SignalRecord:
    return SignalRecord(signal_id, ts + 1, ts, type, service, "production", source, reason, message,
                        dict(attributes), {})


def analysis(*, cause: str = "dependency", suspect: str | None = None, runner_up: str | None = None,
             origin: dict | None = None, samples: Sequence[str] = ("f000", "f001", "f002")) -> dict[str, Any]:
    traces = [f"trace:{t}" for t in samples[:3]]
    return {
        "origin": origin if origin is not None else dict(ORIGIN),
        "cause": {"kind": cause, "confidence": "high",
                  "reasons": [{"text": "the first failure is payment's call to card-processor (3 of 3 failing traces)",
                               "evidence": traces or [PAYMENT.evidence_id]}],
                  "suspect": suspect, "runner_up": runner_up},
        "next_checks": [{"text": "Check card-processor's health and status page", "evidence": traces[:2]
                         or [PAYMENT.evidence_id]}],
        "sample_traces": list(samples),
        "detection": {},
    }


def incident_state(*, state: str = "active", changes: Sequence[SignalRecord] = (), suspect: str | None = None,
                   runner_up: str | None = None, similar: Sequence[dict[str, Any]] = (), cause: str = "dependency",
                   traces: Sequence[str] = ("f000", "f001", "f002"), captured_at: float = T0 + 10,
                   versioned: set[str] | frozenset[str] = frozenset({"gateway", "checkout", "payment"}),
                   failed: int = 12, total: int = 40, rates: dict[str, dict] | None = None,
                   origin: dict | None = None, alerts: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
    """An incident with its snapshots, in the shape `get_incident` returns (snapshots keyed by
    (kind, phase) with `captured_at` inside)."""
    reads = [read(t, failing_trace(t, ONSET + i * 0.5, user=f"u{i}")) for i, t in enumerate(traces)]
    doc = analysis(cause=cause, suspect=suspect, runner_up=runner_up, origin=origin, samples=traces)
    traffic = {(s, k): 10 for s in ("gateway", "checkout", "payment") for k in ("request", "dependency")}
    propagation = propagation_snapshot(doc["origin"], cause, reads, {"payment"}, set(versioned), traffic)
    events = [e for r in reads for e in r.events if e.failed]
    blast = blast_snapshot([FamilyCounts(PAYMENT, failed, total, ONSET + 0.004)], total,
                           Trend(60.0, (failed, total), (0, total)),
                           [(t, ONSET + i * 0.5) for i, t in enumerate(traces)], events)
    change = change_snapshot(changes, ONSET, suspect, runner_up, rates or {}, 1800.0, ["checkout", "gateway", "payment"],
                             False)
    snapshots = {}
    for kind, snap in (("propagation", propagation), ("blast", blast), ("change", change),
                       ("alerts", alerts_snapshot(alerts, ONSET)), ("similar", similar_snapshot(list(similar)))):
        stored = orjson.loads(orjson.dumps(snap))  # as read back from the store
        snapshots[(kind, "opening")] = {"captured_at": captured_at, **stored}
        snapshots[(kind, "latest")] = {"captured_at": captured_at + 20, **stored}
    return {
        "id": INCIDENT_ID, "state": state, **PAYMENT.as_dict(), "onset": ONSET, "opened_at": T0 + 10,
        "updated_at": T0 + 30, "recovering_since": None, "resolved_at": None, "cause": cause, "confidence": "high",
        "analysis": doc,
        "families": [{**PAYMENT.as_dict(), "baseline": 0.0, "joined_at": T0 + 10}],
        "transitions": [{"at": T0 + 10, "from": None, "to": "active", "reason": "families spiked"}],
        "snapshots": snapshots,
    }


def past_incident(incident_id: str, onset: float, *, state: str = "resolved", cause: str = "dependency",
                  match: str = "same_family") -> dict[str, Any]:
    """A similar incident as `store.incidents.similar_incidents` returns it."""
    return {"id": incident_id, "state": state, "onset": onset, "cause": cause, "confidence": "high",
            "family": PAYMENT, "match": match}
