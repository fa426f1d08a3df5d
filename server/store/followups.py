"""Follow-ups: work that must happen because of an incident (title, owner, due, status).

Each one created or changed is recorded on its incident's timeline in the same transaction.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from server.store import db as store
from server.store import timeline
from server.store.timeline import TimelineEntry

OPEN, DONE = "open", "done"
STATUSES = (OPEN, DONE)
_COLUMNS = ("f.id, f.incident_id, f.title, f.owner, f.due_at, f.status, f.created_at, f.created_by, f.closed_at,"
            " f.closed_by, i.service, i.state, i.severity")
_KEYS = ("id", "incident_id", "title", "owner", "due_at", "status", "created_at", "created_by", "closed_at",
         "closed_by", "service", "incident_state", "incident_severity")


def due_date(due_at: float | None) -> str | None:
    """The day a due time ends (a follow-up due on 2026-12-01 is due until that day is over, UTC)."""
    if due_at is None:
        return None
    return datetime.fromtimestamp(due_at - 0.001, UTC).date().isoformat()


def _row(row: tuple, now: float | None) -> dict[str, Any]:
    found = dict(zip(_KEYS, row, strict=True))
    found["due_date"] = due_date(found["due_at"])
    found["overdue"] = bool(now is not None and found["status"] == OPEN and found["due_at"] is not None
                            and found["due_at"] <= now)
    return found


def create_followup(incident_id: str, title: str, owner: str | None, due_at: float | None, by: str,
                    entry: TimelineEntry, now: float) -> dict[str, Any]:
    followup_id = f"fu_{secrets.token_hex(5)}"
    with store.write_transaction():
        store.execute(
            "INSERT INTO followups (id, incident_id, title, owner, due_at, status, created_at, created_by)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)", (followup_id, incident_id, title, owner, due_at, OPEN, now, by))
        timeline.insert_entries([TimelineEntry(entry.incident_id, entry.ts, entry.kind, entry.author, entry.source,
                                               entry.body, {**entry.data, "followup_id": followup_id},
                                               entry.key_id)])
    return get_followup(followup_id, now)  # type: ignore[return-value]


def get_followup(followup_id: str, now: float | None = None) -> dict[str, Any] | None:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id"
                         " WHERE f.id = ?", (followup_id,))
    return _row(row, now) if row else None


_UPDATABLE = frozenset({"title", "owner", "due_at", "status", "closed_at", "closed_by"})


def update_followup(followup_id: str, changes: dict[str, Any], entry: TimelineEntry, now: float) -> dict[str, Any]:
    assert set(changes) <= _UPDATABLE
    with store.write_transaction():
        if changes:
            columns = sorted(changes)
            store.execute(f"UPDATE followups SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                          (*[changes[c] for c in columns], followup_id))
        timeline.insert_entries([entry])
    return get_followup(followup_id, now)  # type: ignore[return-value]


def find_followups(now: float, *, incident_id: str | None = None, service: str | None = None,
                   status: str | None = None, overdue: bool = False, limit: int = 500) -> list[dict[str, Any]]:
    """Follow-ups, soonest due first (no due date last). `service` matches any family of the
    incident; `overdue`: open and past due at `now`."""
    where, params = [], []
    if incident_id is not None:
        where.append("f.incident_id = ?")
        params.append(incident_id)
    if service is not None:
        where.append("(i.service = ? OR EXISTS (SELECT 1 FROM incident_families x WHERE x.incident_id = i.id"
                     " AND x.service = ?))")
        params += [service, service]
    if status is not None:
        where.append("f.status = ?")
        params.append(status)
    if overdue:
        where.append("f.status = ? AND f.due_at IS NOT NULL AND f.due_at <= ?")
        params += [OPEN, now]
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(
        f"SELECT {_COLUMNS} FROM followups f JOIN incidents i ON i.id = f.incident_id{clause}"
        " ORDER BY CASE WHEN f.due_at IS NULL THEN 1 ELSE 0 END, f.due_at, f.created_at, f.id LIMIT ?",
        (*params, limit))
    return [_row(r, now) for r in rows]
