"""One request's story: its spans in causal order, failures marked, coverage stated.

`build_story` is pure (events in, story dict out); `story_of` reads the store. Failing
spans come from the trace index; healthy spans from a bounded search around them
(see `server.store.traces`), so the story says how complete it is.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from server.evidence.snapshot import OK, PARTIAL
from server.store import traces
from server.store.traces import TraceEvent, TraceRead
from server.timefmt import iso

_EXCEPTION_TYPE = ("exception.type", "exception_type", "error.type")
_EXCEPTION_MESSAGE = ("exception.message", "exception_message", "error.message")
MAX_EXCEPTION_TEXT = 300


def exception_of(attributes: dict[str, Any]) -> dict[str, str] | None:
    """The exception an event's attributes name (OpenTelemetry or SDK spelling), if any."""
    kind = next((attributes[k] for k in _EXCEPTION_TYPE if isinstance(attributes.get(k), str)), None)
    if kind is None and isinstance(attributes.get("exception"), str):
        kind = attributes["exception"]
    if kind is None:
        return None
    message = next((attributes[k] for k in _EXCEPTION_MESSAGE if isinstance(attributes.get(k), str)), None)
    return {"type": kind[:MAX_EXCEPTION_TEXT], "message": message[:MAX_EXCEPTION_TEXT] if message else None}


def _order_key(event: TraceEvent) -> tuple:
    # Content only, never row ids: the same events stored in another order tell the same story.
    return (event.ts, event.service, event.step, event.span_id or "", event.kind, event.status,
            event.error_code or "", event.peer or "")


class Tree:
    """The spans of one trace linked by parent_span_id, in causal (depth-first, time) order."""

    def __init__(self, events: Iterable[TraceEvent]):
        self.events = sorted(events, key=_order_key)
        self.by_id = {e.span_id: e for e in self.events if e.span_id}
        self.children: dict[str, list[TraceEvent]] = {}
        for e in self.events:
            if e.parent_span_id in self.by_id and e.parent_span_id != e.span_id:
                self.children.setdefault(e.parent_span_id, []).append(e)
        self.roots = [e for e in self.events if e.parent_span_id not in self.by_id or e.parent_span_id == e.span_id]
        self.order: list[tuple[TraceEvent, int]] = []
        seen: set[int] = set()
        for root in self.roots:
            self._walk(root, 0, seen)
        for e in self.events:  # members of a parent cycle are reachable from no root
            if id(e) not in seen:
                self._walk(e, 0, seen)

    def _walk(self, event: TraceEvent, depth: int, seen: set[int]) -> None:
        stack = [(event, depth)]
        while stack:
            current, level = stack.pop()
            if id(current) in seen:
                continue
            seen.add(id(current))
            self.order.append((current, level))
            for child in reversed(self.children.get(current.span_id or "", [])):
                stack.append((child, level + 1))

    def parent_missing(self, event: TraceEvent) -> bool:
        """The span names a parent that was never found."""
        return event.parent_span_id is not None and event.parent_span_id not in self.by_id

    def chain(self, event: TraceEvent) -> list[TraceEvent]:
        """The spans from the trace's entry point down to `event`."""
        path, seen = [event], {id(event)}
        while event.parent_span_id in self.by_id:
            event = self.by_id[event.parent_span_id]
            if id(event) in seen:
                break
            path.append(event)
            seen.add(id(event))
        return list(reversed(path))

    def first_failure(self) -> TraceEvent | None:
        """Where the failure starts: the deepest failing span none of whose children failed
        (ties: the earliest)."""
        failing = [e for e in self.events if e.failed]
        leaves = [e for e in failing if not any(c.failed for c in self.children.get(e.span_id or "", []))]
        if not leaves:
            # Only a parent cycle (corrupt links) leaves failures without a leaf: take the earliest.
            return min(failing, key=_order_key) if failing else None
        return min(leaves, key=lambda e: (-len(self.chain(e)), *_order_key(e)))

    def silent_peers(self) -> list[str]:
        """Peers called in this trace that have no span of their own in it while, during the
        call, a span starts whose parent is missing: the peer handled the call and called on,
        but sent nothing (or dropped the trace context). A called peer with no such orphan
        under it is just an external dependency."""
        orphans = [e for e in self.events if self.parent_missing(e)]
        if not orphans:
            return []
        services = {e.service for e in self.events}
        silent = set()
        for call in self.events:
            if call.kind != "dependency" or not call.peer or call.peer in services:
                continue
            end = call.ts + call.duration_ms / 1000 if call.duration_ms is not None else float("inf")
            if any(call.ts <= o.ts <= end and o.service != call.service for o in orphans):
                silent.add(call.peer)
        return sorted(silent)


def path_summary(chain: Sequence[TraceEvent]) -> str:
    """`gateway → checkout → payment ✗ card-processor (timeout)`: services from the entry
    point to the first failure."""
    names: list[str] = []
    for e in chain:
        if not names or names[-1] != e.service:
            names.append(e.service)
    if not chain:
        return ""
    last = chain[-1]
    text = " → ".join(names)
    if last.kind == "dependency" and last.peer:
        text += f" ✗ {last.peer}"
    else:
        text += " ✗"
    return text + (f" ({last.error_code})" if last.error_code else "")


def build_story(read: TraceRead) -> dict[str, Any]:
    """The story of one trace from what the store found for it."""
    tree = Tree(read.events)
    start = min((e.ts for e in tree.events), default=0.0)
    origin = tree.first_failure()
    spans = []
    for event, depth in tree.order:
        spans.append({
            "span_id": event.span_id, "parent_span_id": event.parent_span_id, "depth": depth,
            "service": event.service, "env": event.env, "version": event.version, "kind": event.kind,
            "peer": event.peer, "step": event.step, "status": event.status, "error_code": event.error_code,
            "duration_ms": event.duration_ms, "ts": iso(event.ts), "offset_ms": round((event.ts - start) * 1000, 1),
            "failed": event.failed, "first_failure": event is origin, "parent_missing": tree.parent_missing(event),
            "user_id": event.user_id, "exception": exception_of(event.attributes),
        })
    gaps = []
    missing_parents = sum(tree.parent_missing(e) for e in tree.events)
    if missing_parents:
        gaps.append(f"{missing_parents} span(s) name a parent that was not found: a service on the path"
                    " sends nothing, drops the trace context, or its spans were stored far from these")
    if read.search == "recent":
        gaps.append(f"no failing event in this trace: only the newest {2 * read.rows_either_side} stored"
                    " events were searched")
    if read.truncated:
        gaps.append(f"the trace has more than {traces.MAX_TRACE_EVENTS} events; the rest are left out")
    silent = tree.silent_peers()
    if silent:
        gaps.append("called on the path but sending no spans: " + ", ".join(silent))
    return {
        "trace_id": read.trace_id,
        "coverage": {
            "status": PARTIAL if gaps else OK,
            "status_reason": "; ".join(gaps) if gaps else None,
            "failing_spans": read.failing,
            "healthy_spans": len(tree.events) - read.failing,
            "search": read.search,
            "rows_either_side": read.rows_either_side,
            "note": ("failing spans come from the trace index; healthy spans from the events stored within"
                     f" {read.rows_either_side} rows of them"),
        },
        "summary": path_summary(tree.chain(origin)) if origin else "no failure in this trace",
        "first_failure": origin.span_id if origin else None,
        "services": list(dict.fromkeys(e.service for e, _ in tree.order)),
        "spans": spans,
    }


def story_of(trace_id: str) -> dict[str, Any] | None:
    """The story of `trace_id`, or None when the store has no event of it within reach."""
    read = traces.read_trace(trace_id)
    if not read.events:
        return None
    return build_story(read)
