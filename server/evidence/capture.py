"""Evidence capture for the engine: every snapshot kind of one incident, as rows to write.

At opening each kind is written twice, as phase `opening` (kept as it was) and `latest`;
on later ticks `latest` is captured again and written only when its content changed. A
kind whose capture fails is written as `missing` with the reason, and the tick goes on:
evidence must never stop the engine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson

from server.config import Settings
from server.evidence.alerts import capture_alerts
from server.evidence.blast import capture_blast
from server.evidence.change import capture_change
from server.evidence.propagation import capture_propagation
from server.evidence.similar import capture_similar
from server.evidence.snapshot import KINDS, LATEST, OPENING, missing
from server.evidence.subject import Subject
from server.store import incidents

log = logging.getLogger("onset.evidence")

__all__ = ["KINDS", "LATEST", "OPENING", "capture_snapshots", "evidence_rows"]

SnapshotRow = tuple[str, str, str, float, dict[str, Any]]  # incident id, kind, phase, captured_at, snapshot
Previous = tuple[float, dict[str, Any]] | None


def _captures(subject: Subject, now: float, settings: Settings) -> dict[str, Callable[[Previous], dict]]:
    return {
        "propagation": lambda previous: capture_propagation(subject, now, settings, previous),
        "blast": lambda _: capture_blast(subject.families, subject.onset, now, settings.window_seconds,
                                         settings.bucket_seconds),
        "change": lambda _: capture_change(subject, now, settings),
        "alerts": lambda _: capture_alerts(subject),
        "similar": lambda _: capture_similar(subject),
    }


def capture_snapshots(subject: Subject, now: float, settings: Settings,
                      previous: dict[str, tuple[float, dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """kind -> snapshot for every kind; `previous` is the stored latest (captured_at, snapshot)."""
    found = {}
    for kind, capture in _captures(subject, now, settings).items():
        try:
            # Through JSON and back: the stored form, so that comparing with `previous` is exact.
            found[kind] = orjson.loads(orjson.dumps(capture(previous.get(kind))))
        except Exception as exc:  # evidence must never stop the engine's tick
            log.exception("capturing %s evidence of %s failed", kind, subject.incident_id)
            found[kind] = missing(f"capture failed ({type(exc).__name__}); see the server log")
    return found


def evidence_rows(subject: Subject, now: float, settings: Settings, *, opening: bool) -> list[SnapshotRow]:
    """The snapshot rows one tick writes for an incident (for `TickWrites.snapshots`): both
    phases at opening, afterwards `latest` only where it changed."""
    previous = {} if opening else incidents.evidence_snapshots(subject.incident_id, LATEST)
    rows: list[SnapshotRow] = []
    for kind, snap in capture_snapshots(subject, now, settings, previous).items():
        if opening:
            rows.append((subject.incident_id, kind, OPENING, now, snap))
        if opening or kind not in previous or previous[kind][1] != snap:
            rows.append((subject.incident_id, kind, LATEST, now, snap))
    return rows
