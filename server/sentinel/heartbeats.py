"""Declared pipelines and their heartbeats. Pure.

A source declares its cadence with every beat (`interval_s`); it is late once more than
twice that has passed since its last beat. A stage may name the stage before it
(`after`): a heartbeat source, or a service that sends events.

* heartbeat_missed (critical): a source is late. Cleared by its next beat.
* pipeline_stalled (critical): a late stage whose upstream is still alive (it beats on
  time, or the service sent events in the current window): the data is arriving and
  stops here. Raised only while the upstream lives; cleared by the stage's next beat.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.sentinel.model import ActiveAlert, Finding
from server.sentinel.reconcile import AlertKey, CheckResult
from server.timefmt import duration, iso

MISSED, STALLED = "heartbeat_missed", "pipeline_stalled"
LATE_FACTOR = 2


@dataclass(frozen=True)
class Heartbeat:
    source: str
    interval_s: float
    after: str | None
    last_beat_at: float


def is_late(beat: Heartbeat, now: float) -> bool:
    return now - beat.last_beat_at > LATE_FACTOR * beat.interval_s


def heartbeat_scope(source: str) -> str:
    return f"heartbeat:{source}"


def pipeline_scope(upstream: str, source: str) -> str:
    return f"pipeline:{upstream}>{source}"


def check_heartbeats(beats: Iterable[Heartbeat], services_sending: set[str], active: Mapping[AlertKey, ActiveAlert],
                     now: float) -> CheckResult:
    result = CheckResult(frozenset({MISSED, STALLED}))
    by_source = {b.source: b for b in beats}
    for beat in by_source.values():
        scope = heartbeat_scope(beat.source)
        if not is_late(beat, now):
            back = f"beat received at {iso(beat.last_beat_at)}"
            result.clear_reasons[(MISSED, scope)] = back
            if beat.after:
                result.clear_reasons[(STALLED, pipeline_scope(beat.after, beat.source))] = back
            continue
        silence = now - beat.last_beat_at
        details = {"interval_s": beat.interval_s, "last_beat_at": beat.last_beat_at, "late_by_s": round(silence, 3)}
        result.bad[(MISSED, scope)] = Finding(
            MISSED, scope, f"no heartbeat from {beat.source} for {duration(silence)} (expected every"
                           f" {duration(beat.interval_s)})", stale_since=beat.last_beat_at, details=details)
        if not beat.after:
            continue
        stalled = (STALLED, pipeline_scope(beat.after, beat.source))
        upstream = by_source.get(beat.after)
        if upstream is not None:
            alive, how = not is_late(upstream, now), "still beats"
        else:
            alive, how = beat.after in services_sending, "still sends events"
        if alive:
            reason = f"{beat.source} stopped {duration(silence)} ago while its upstream {beat.after} {how}"
        elif stalled in active:
            reason = active[stalled].reason  # still stalled; the upstream stopping too does not fix it
        else:
            continue
        result.bad[stalled] = Finding(STALLED, stalled[1], reason, stale_since=beat.last_beat_at,
                                      details={**details, "upstream": beat.after})
    return result
