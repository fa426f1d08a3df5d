"""Where a failure starts: the deepest failing span whose children did not fail.

Pure: spans in, an `Origin` out. Works on failing spans only (they are what the store
indexes); a failing span whose parent is not among them is where its trace's known
path begins.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable

from server.engine.model import Origin, PathStep, Span

MAX_SAMPLE_TRACES = 5


def _trace_origin(spans: list[Span]) -> tuple[Span, list[Span], bool]:
    """(origin span, path from the entry point down to it, whether a parent link is broken)."""
    by_id = {s.span_id: s for s in spans if s.span_id}
    failing_parents = {s.parent_span_id for s in spans if s.parent_span_id in by_id}

    def chain(span: Span) -> list[Span]:
        path, seen = [span], {span.span_id}
        while span.parent_span_id in by_id and span.parent_span_id not in seen:
            span = by_id[span.parent_span_id]
            path.append(span)
            seen.add(span.span_id)
        return list(reversed(path))

    # A trace in several pieces has parent links that point at spans we never received:
    # a service on the path sends nothing, or it does not propagate the trace context.
    roots = [s for s in spans if s.parent_span_id not in by_id]
    broken = len(roots) > 1
    leaves = [s for s in spans if s.span_id not in failing_parents]
    best: tuple[tuple, Span, list[Span]] | None = None
    for leaf in leaves:
        path = chain(leaf)
        key = (-len(path), leaf.ts, leaf.service, leaf.step, leaf.span_id or "")
        if best is None or key < best[0]:
            best = (key, leaf, path)
    assert best is not None
    return best[1], best[2], broken


def _origin_key(leaf: Span, path: list[Span]) -> tuple[str, str, str | None]:
    if leaf.kind == "dependency":
        parent = path[-2] if len(path) >= 2 else None
        step = parent.step if parent is not None and parent.service == leaf.service else leaf.step
        return leaf.service, step, leaf.peer or leaf.step
    return leaf.service, leaf.step, None


def find_origin(spans: Iterable[Span]) -> Origin:
    """The origin voted across traces (most traces agreeing; ties go to the earliest failure)."""
    traces: dict[str, list[Span]] = {}
    for span in spans:
        traces.setdefault(span.trace_id, []).append(span)
    if not traces:
        return Origin("", "", None, None, (), 0, 0, (), "missing",
                      "no failing events carry trace ids", None)

    votes: Counter = Counter()
    first_seen: dict[tuple, float] = {}
    examples: dict[tuple, tuple[Span, list[Span]]] = {}
    samples: dict[tuple, list[str]] = {}
    broken_traces = 0
    for trace_id in sorted(traces):
        leaf, path, broken = _trace_origin(traces[trace_id])
        broken_traces += broken
        key = _origin_key(leaf, path)
        votes[key] += 1
        samples.setdefault(key, []).append(trace_id)
        if key not in first_seen or leaf.ts < first_seen[key]:
            first_seen[key] = leaf.ts
            examples[key] = (leaf, path)

    winner = min(votes, key=lambda k: (-votes[k], first_seen[k], k[0], k[1], k[2] or ""))
    leaf, path = examples[winner]
    status, reason = "ok", None
    if broken_traces:
        status = "partial"
        reason = (f"{broken_traces} of {len(traces)} traces arrived in pieces: parent spans are missing"
                  " (a service on the path sends nothing or does not propagate traceparent)")
    elif len(traces) == 1:
        status, reason = "partial", "only one failing trace to learn from"
    return Origin(
        service=winner[0], step=winner[1], via=winner[2], error_code=leaf.error_code,
        path=tuple(PathStep(s.service, s.step, s.kind, s.peer, s.error_code) for s in path),
        traces_seen=len(traces), traces_agreeing=votes[winner],
        sample_traces=tuple(samples[winner][:MAX_SAMPLE_TRACES]),
        status=status, status_reason=reason, first_failure_ts=first_seen[winner],
    )
