"""What Onset records of itself on a timeline, from one tick's decisions. Pure.

State changes, attached alerts and notifications are in their own tables (the timeline reads
them from there); this module writes what no other table keeps: a severity derived, a cause
that changed, evidence that arrived, and the link from a returning failure to the incident a
person resolved by hand.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from server.engine.lifecycle import PastIncident
from server.engine.severity import SeverityVerdict
from server.evidence.items import change_summary
from server.store.timeline import AUTHOR_ONSET, ONSET, TimelineEntry


def _onset(incident_id: str, ts: float, kind: str, body: str, data: dict[str, Any]) -> TimelineEntry:
    return TimelineEntry(incident_id, ts, kind, AUTHOR_ONSET, ONSET, body, data)


def severity_entry(incident_id: str, previous: str | None, verdict: SeverityVerdict, at: float) -> TimelineEntry:
    change = f"{previous} → {verdict.level}" if previous else verdict.level
    return _onset(incident_id, at, "severity", f"severity {change} (derived): {verdict.reason}",
                  {"from": previous, "to": verdict.level, "source": "derived", "reason": verdict.reason})


def cause_entry(incident_id: str, previous: tuple[str, str], now: tuple[str, str], at: float) -> TimelineEntry:
    return _onset(incident_id, at, "cause",
                  f"cause {previous[0]} ({previous[1]}) → {now[0]} ({now[1]} confidence)",
                  {"from": previous[0], "to": now[0], "confidence": now[1]})


def evidence_entries(incident_id: str, before: Mapping[str, Any] | None, after: Mapping[str, Any],
                     at: float) -> list[TimelineEntry]:
    """One entry per change item (deploy, dependency, runtime, config signal) in `after` that
    `before` (the change snapshot last stored) did not have."""
    known = {i["id"] for i in (before or {}).get("items") or []}
    return [_onset(incident_id, at, "evidence", f"evidence added: {change_summary(item)}",
                   {"evidence": item["id"], "type": item["type"], "service": item["service"]})
            for item in after.get("items") or [] if item["id"] not in known]


def follows_entries(new_id: str, previous: PastIncident, at: float) -> Sequence[TimelineEntry]:
    """On the new incident and on the one it follows: the failure came back after a person
    resolved it."""
    by = previous.manual_by or "someone"
    return (
        _onset(new_id, at, "status", f"the failure of {previous.id} came back after {by} resolved it by hand:"
                                     " this incident follows it", {"follows": previous.id}),
        _onset(previous.id, at, "status", f"the failure came back: {new_id} follows this incident",
               {"followed_by": new_id}),
    )
