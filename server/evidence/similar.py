"""Similar past incidents: same family, or same origin and cause; most recent first."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.evidence.snapshot import OK, capped, snapshot
from server.evidence.subject import Subject
from server.store import incidents

MAX_SIMILAR = 5


def similar_snapshot(found: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """`found`: incidents as `store.incidents.similar_incidents` returns them."""
    ordered = sorted(found, key=lambda s: (-s["onset"], s["id"]))
    kept, left_out = capped(ordered, MAX_SIMILAR)
    items = [{"id": s["id"], "state": s["state"], "onset": s["onset"], "cause": s["cause"],
              "confidence": s["confidence"], "family": s["family"].label, "family_id": s["family"].evidence_id,
              "match": s["match"]} for s in kept]
    return snapshot(OK, items=items, items_left_out=left_out)


def capture_similar(subject: Subject) -> dict[str, Any]:
    origin = subject.origin
    key = (origin["service"], origin.get("step")) if origin.get("service") else None
    found = incidents.similar_incidents(subject.incident_id, list(subject.families), subject.onset, key,
                                        subject.cause.get("kind", "unknown"))
    return similar_snapshot(found)
