"""What a weekly digest reads: the week's incidents (with their families and the similar past
incidents their evidence found), the follow-ups overdue at the week's end, and the services the
sentinel found silent. Plain dicts; the digest itself is built in `incidentlog.digest`."""

from __future__ import annotations

from typing import Any

import orjson

from server.engine.model import Family
from server.store import db as store

_INCIDENT = ("id, state, kind, service, env, step, error_code, onset, opened_at, acknowledged_at, resolved_at,"
             " severity, cause, confidence, title")
_INCIDENT_KEYS = tuple(k.strip() for k in _INCIDENT.split(","))


def incidents_between(start: float, end: float) -> list[dict[str, Any]]:
    """Incidents with an onset in [start, end), oldest first, each with `families` (labels)
    and `similar` (the items of its latest similar-incidents evidence)."""
    rows = store.fetchall(f"SELECT {_INCIDENT} FROM incidents WHERE onset >= ? AND onset < ? ORDER BY onset, id",
                          (start, end))
    found = {r[0]: dict(zip(_INCIDENT_KEYS, r, strict=True)) for r in rows}
    if not found:
        return []
    ids = list(found)
    marks = ", ".join("?" * len(ids))
    for incident in found.values():
        incident["families"] = []
        incident["similar"] = []
    for incident_id, *family in store.fetchall(
            f"SELECT incident_id, service, env, step, error_code FROM incident_families WHERE incident_id IN ({marks})"
            " ORDER BY incident_id, service, env, step, error_code", ids):
        found[incident_id]["families"].append(Family(*family).label)
    for incident_id, snapshot in store.fetchall(
            "SELECT incident_id, snapshot FROM incident_evidence WHERE kind = 'similar' AND phase = 'latest'"
            f" AND incident_id IN ({marks})", ids):
        found[incident_id]["similar"] = orjson.loads(snapshot).get("items") or []
    return list(found.values())


def followups_overdue_at(as_of: float) -> list[dict[str, Any]]:
    """Follow-ups that were open and past due at `as_of` (done after it counts as open then)."""
    keys = ("id", "incident_id", "title", "owner", "due_at", "service")
    return [dict(zip(keys, r, strict=True)) for r in store.fetchall(
        "SELECT f.id, f.incident_id, f.title, f.owner, f.due_at, i.service FROM followups f"
        " JOIN incidents i ON i.id = f.incident_id WHERE f.created_at <= ? AND f.due_at IS NOT NULL"
        " AND f.due_at <= ? AND (f.status = 'open' OR f.closed_at > ?) ORDER BY f.due_at, f.id",
        (as_of, as_of, as_of))]


def silent_services_between(start: float, end: float) -> list[dict[str, Any]]:
    """The sentinel's service_silent health alerts raised in [start, end)."""
    keys = ("service", "env", "raised_at", "cleared_at", "reason")
    return [dict(zip(keys, r, strict=True)) for r in store.fetchall(
        "SELECT service, env, raised_at, cleared_at, reason FROM health_alerts WHERE key = 'service_silent'"
        " AND raised_at >= ? AND raised_at < ? ORDER BY raised_at, service, env, id", (start, end))]
