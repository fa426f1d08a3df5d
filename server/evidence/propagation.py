"""Propagation evidence ("Where did it start?"): origin, causal path, sample traces, and what
the instrumentation could not see.

The origin itself is the engine's decision (voted over the failing spans of the first
window); this snapshot adds what the sample traces show around it: the full path from
the entry point (healthy callers included), the exception, broken parent links, services
on the path that send nothing, services without a version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson

from server.config import Settings
from server.evidence.snapshot import MISSING, OK, PARTIAL, snapshot
from server.evidence.story import Tree, exception_of, path_summary
from server.evidence.subject import Subject
from server.store import counters, signals, traces
from server.store.traces import TraceEvent, TraceRead

MAX_SAMPLE_TRACES = 5
# A path longer than this keeps its entry (first steps) and the failure (last steps).
MAX_PATH = 30
PATH_HEAD = 5
MAX_SUMMARY = 300
# A smaller search than the request story's: this runs in the engine's tick.
STORY_ROWS = 2000


def basis_of(origin: dict[str, Any], samples: Sequence[str], cause: str | None) -> str:
    """A digest of the engine's inputs to this snapshot: while it is unchanged (and the last
    capture was complete) the snapshot need not be captured again."""
    text = orjson.dumps({"origin": origin, "samples": list(samples), "cause": cause}, option=orjson.OPT_SORT_KEYS)
    return hashlib.sha256(text).hexdigest()[:16]


def _matches(leaf: TraceEvent, origin: dict[str, Any]) -> bool:
    if leaf.service != origin.get("service"):
        return False
    if origin.get("via"):
        return leaf.kind == "dependency" and (leaf.peer or leaf.step) == origin["via"]
    return leaf.kind == "request" and leaf.step == origin.get("step")


def _step(e: TraceEvent) -> dict[str, Any]:
    return {"service": e.service, "step": e.step, "kind": e.kind, "peer": e.peer, "status": e.status,
            "error_code": e.error_code}


def propagation_snapshot(origin: dict[str, Any], cause: str | None, reads: Sequence[TraceRead],
                         family_services: set[str], versioned: set[str],
                         traffic: dict[tuple[str, str], int]) -> dict[str, Any]:
    """The snapshot from the engine's origin, the sample traces as read from the store, which
    services ever sent a version, and the events per (service, kind) around the onset."""
    samples = [r.trace_id for r in reads]
    basis = basis_of(origin, samples, cause)
    instrumentation: dict[str, Any] = {
        "trace_ids_missing": False, "traces_checked": len(reads), "broken_traces": 0,
        "silent_services": [], "services_without_version": sorted(family_services - versioned),
        "services_without_dependency_events": [],
    }
    if origin.get("status") == MISSING or not origin.get("service"):
        instrumentation["trace_ids_missing"] = True
        return snapshot(MISSING, origin.get("status_reason") or "no failing events carry trace ids",
                        basis=basis, origin=None, path=[], path_left_out=0, path_source=None, traces_seen=0, traces_agreeing=0,
                        first_failure_ts=None, sample_traces=[], exception=None, instrumentation=instrumentation)

    trees = [Tree(r.events) for r in reads]
    example: tuple[Tree, TraceEvent] | None = None
    sample_items = []
    for read, tree in zip(reads, trees, strict=True):
        leaf = tree.first_failure()
        failing_ts = [e.ts for e in tree.events if e.failed]
        sample_items.append({"trace_id": read.trace_id, "ts": min(failing_ts) if failing_ts else None,
                             "summary": path_summary(tree.chain(leaf))[:MAX_SUMMARY] if leaf
                             else "no failing span found"})
        if example is None and leaf is not None and _matches(leaf, origin):
            example = (tree, leaf)

    exception = None
    if example is not None:
        chain = example[0].chain(example[1])
        path, path_source = [_step(e) for e in chain], "trace"
        exception = next((x for e in reversed(chain) if e.failed and (x := exception_of(e.attributes))), None)
    else:
        path = [{**p, "status": "error"} for p in origin.get("path") or []]
        path_source = "failing_spans"

    path_left_out = max(0, len(path) - MAX_PATH)
    if path_left_out:
        path = path[:PATH_HEAD] + path[-(MAX_PATH - PATH_HEAD):]
    path_services = {p["service"] for p in path}
    instrumentation["services_without_version"] = sorted((family_services | path_services) - versioned)
    broken = sum(any(t.parent_missing(e) for e in t.events) for t in trees)
    instrumentation["broken_traces"] = broken
    silent = sorted({peer for t in trees for peer in t.silent_peers()})
    instrumentation["silent_services"] = [
        {"service": peer,
         "reason": "drops_trace_context" if any(traffic.get((peer, k)) for k in ("request", "dependency"))
         else "sends_nothing"}
        for peer in silent
    ]
    if not origin.get("via") and cause in ("app", "unknown") and not traffic.get((origin["service"], "dependency")):
        instrumentation["services_without_dependency_events"] = [origin["service"]]

    reasons = []
    if origin.get("status") == PARTIAL and origin.get("status_reason"):
        reasons.append(origin["status_reason"])
    if broken:
        reasons.append(f"{broken} of {len(reads)} sample traces have spans whose parent was never received")
    if example is None and reads:
        reasons.append("no sample trace could be read back whole: the path shows failing spans only")
    return snapshot(
        PARTIAL if reasons else OK, "; ".join(reasons) or None, basis=basis,
        origin={k: origin.get(k) for k in ("service", "step", "via", "error_code")},
        path=path, path_left_out=path_left_out, path_source=path_source, traces_seen=origin.get("traces_seen", 0),
        traces_agreeing=origin.get("traces_agreeing", 0), first_failure_ts=origin.get("first_failure_ts"),
        sample_traces=sample_items, exception=exception, instrumentation=instrumentation,
    )


def capture_propagation(subject: Subject, now: float, settings: Settings,
                        previous: tuple[float, dict[str, Any]] | None) -> dict[str, Any]:
    """Read the sample traces and the instrumentation facts; reuse `previous` (captured_at,
    snapshot) while the engine's inputs are unchanged and it was complete, or old enough that
    late spans will not arrive any more."""
    origin = subject.origin
    samples = list(subject.analysis.get("sample_traces") or [])[:MAX_SAMPLE_TRACES]
    cause = subject.cause.get("kind")
    if previous is not None:
        captured_at, before = previous
        settled = captured_at >= subject.onset + 2 * settings.window_seconds
        if before.get("basis") == basis_of(origin, samples, cause) and (before.get("status") == OK or settled):
            return before
    reads = [traces.read_trace(trace_id, STORY_ROWS) for trace_id in samples]
    family_services = {f.service for f in subject.families}
    services = subject.services | {e.peer for r in reads for e in r.events if e.peer}
    lo = subject.onset - 4 * settings.window_seconds
    traffic = counters.traffic_by_kind(sorted(services), lo, now + settings.bucket_seconds)
    versioned = signals.services_with_versions(subject.services)
    return propagation_snapshot(origin, cause, reads, family_services, versioned, traffic)
