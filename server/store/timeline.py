"""An incident's timeline: recorded entries (what people did; what Onset recorded of itself:
severity derived, cause changed, evidence added) merged, when read, with what other tables
already hold: state changes, attached alerts and notifications delivered or given up.

Entries are plain dicts: `id`, `kind`, `author`, `source` (person | onset), `ts` (seconds),
`body`, `data`; oldest first, ties in the order they were written.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.store import db as store

PERSON, ONSET = "person", "onset"
AUTHOR_ONSET = "onset"


@dataclass(frozen=True)
class TimelineEntry:
    """One entry to record."""

    incident_id: str
    ts: float
    kind: str
    author: str
    source: str
    body: str
    data: dict[str, Any] = field(default_factory=dict)
    key_id: str | None = None


def insert_entries(entries: Sequence[TimelineEntry]) -> list[int]:
    """Record entries; call inside the transaction of the change they describe. Returns their row ids."""
    ids = []
    for e in entries:
        cursor = store.execute(
            "INSERT INTO incident_timeline (incident_id, ts, kind, author, source, key_id, body, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)" + (" RETURNING id" if store.is_postgres() else ""),
            (e.incident_id, e.ts, e.kind, e.author, e.source, e.key_id, e.body,
             orjson.dumps(e.data, option=orjson.OPT_SORT_KEYS).decode()),
        )
        ids.append(cursor.fetchone()[0] if store.is_postgres() else cursor.lastrowid)
    return ids


def _entry(entry_id: str, kind: str, author: str, source: str, ts: float, body: str,
           data: dict[str, Any] | None = None, order: tuple = ()) -> dict[str, Any]:
    return {"id": entry_id, "kind": kind, "author": author, "source": source, "ts": ts, "body": body,
            "data": data or {}, "_order": order}


def recorded_entries(incident_id: str) -> list[dict[str, Any]]:
    return [
        _entry(f"tl_{r[0]}", r[2], r[3], r[4], r[1], r[5], orjson.loads(r[6]), (1, r[0]))
        for r in store.fetchall(
            "SELECT id, ts, kind, author, source, body, data FROM incident_timeline WHERE incident_id = ?"
            " ORDER BY ts, id", (incident_id,))
    ]


def entry(incident_id: str, entry_id: int) -> dict[str, Any] | None:
    """One recorded entry by its row id."""
    found = [e for e in recorded_entries(incident_id) if e["id"] == f"tl_{entry_id}"]
    if not found:
        return None
    found[0].pop("_order")
    return found[0]


def _status_entries(incident_id: str) -> list[dict[str, Any]]:
    found = []
    for row_id, ts, from_state, to_state, reason in store.fetchall(
        "SELECT id, ts, from_state, to_state, reason FROM incident_transitions WHERE incident_id = ? ORDER BY id",
        (incident_id,),
    ):
        body = f"opened: {reason}" if from_state is None else f"{from_state} → {to_state}: {reason}"
        found.append(_entry(f"tr_{row_id}", "status", AUTHOR_ONSET, ONSET, ts, body,
                            {"from": from_state, "to": to_state, "reason": reason}, (0, row_id)))
    return found


def _alert_entries(incident_id: str) -> list[dict[str, Any]]:
    found = []
    for alert_id, attached_at, reason, name, source, status in store.fetchall(
        "SELECT a.alert_id, l.attached_at, l.reason, a.name, a.source, a.status FROM incident_alerts l"
        " JOIN alerts a ON a.alert_id = l.alert_id WHERE l.incident_id = ? ORDER BY l.attached_at, a.alert_id",
        (incident_id,),
    ):
        found.append(_entry(f"al_{alert_id}", "alert", AUTHOR_ONSET, ONSET, attached_at,
                            f"alert attached: {name} from {source} ({reason})",
                            {"alert_id": alert_id, "name": name, "source": source, "status": status},
                            (2, alert_id)))
    return found


def _notification_entries(incident_id: str) -> list[dict[str, Any]]:
    found = []
    for row_id, event, channel_type, channel_name, state, attempts, delivered_at, failed_at, last_reason in \
            store.fetchall(
                "SELECT n.id, n.event, c.type, c.name, n.state, n.attempts, n.delivered_at, n.failed_at,"
                " n.last_reason FROM notifications n JOIN channels c ON c.id = n.channel_id"
                " WHERE n.subject_id = ? AND n.state IN ('delivered', 'failed') ORDER BY n.id", (incident_id,)):
        data = {"event": event, "channel": channel_name, "channel_type": channel_type, "state": state,
                "attempts": attempts}
        if state == "delivered":
            body = f"notified {channel_type} {channel_name}: {event}"
            ts = delivered_at
        else:
            body = f"notification to {channel_type} {channel_name} failed ({event}): {last_reason or 'gave up'}"
            ts = failed_at
        if ts is not None:
            found.append(_entry(f"nt_{row_id}", "notification", AUTHOR_ONSET, ONSET, ts, body, data, (3, row_id)))
    return found


def timeline_of(incident_id: str) -> list[dict[str, Any]]:
    """Every entry of the incident, recorded and derived, oldest first."""
    entries = (_status_entries(incident_id) + recorded_entries(incident_id) + _alert_entries(incident_id)
               + _notification_entries(incident_id))
    entries.sort(key=lambda e: (e["ts"], e["_order"]))
    for e in entries:
        e.pop("_order")
    return entries


def entries_of(incident_ids: Sequence[str], kinds: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    """Recorded entries of `kinds` for several incidents (for the digest and the dashboard list)."""
    ids, kinds = sorted(set(incident_ids)), sorted(set(kinds))
    if not ids or not kinds:
        return {}
    found: dict[str, list[dict[str, Any]]] = {}
    for incident_id, row_id, ts, kind, author, source, body, data in store.fetchall(
        f"SELECT incident_id, id, ts, kind, author, source, body, data FROM incident_timeline"
        f" WHERE incident_id IN ({', '.join('?' * len(ids))}) AND kind IN ({', '.join('?' * len(kinds))})"
        " ORDER BY ts, id", (*ids, *kinds)):
        e = _entry(f"tl_{row_id}", kind, author, source, ts, body, orjson.loads(data))
        e.pop("_order")
        found.setdefault(incident_id, []).append(e)
    return found


# -- people's entries -----------------------------------------------------------------------
# What a person's entry may change on the incident, next to recording it.
_RESPONSE_COLUMNS = frozenset({
    "severity", "severity_source", "severity_reason", "severity_by", "acknowledged_by", "acknowledged_at",
    "assignee", "assigned_at", "manual_state", "manual_by", "manual_at", "manual_reason",
})


def response_state(incident_id: str) -> dict[str, Any] | None:
    """What a person's action is checked against: state, kind, severity, acknowledged, the
    standing manual decision. None for an unknown incident."""
    row = store.fetchone(
        "SELECT state, kind, severity, severity_source, acknowledged_by, assignee, manual_state FROM incidents"
        " WHERE id = ?", (incident_id,))
    if row is None:
        return None
    return dict(zip(("state", "kind", "severity", "severity_source", "acknowledged_by", "assignee",
                     "manual_state"), row, strict=True))


def record(entry: TimelineEntry, updates: dict[str, Any]) -> dict[str, Any]:
    """Record a person's entry and the incident fields it changes, in one transaction; returns
    the entry as the timeline shows it."""
    bad = set(updates) - _RESPONSE_COLUMNS
    assert not bad, f"not a response column: {bad}"
    with store.write_transaction():
        if updates:
            columns = sorted(updates)
            store.execute(f"UPDATE incidents SET {', '.join(f'{c} = ?' for c in columns)} WHERE id = ?",
                          (*[updates[c] for c in columns], entry.incident_id))
        row_id = insert_entries([entry])[0]
    return {"id": f"tl_{row_id}", "kind": entry.kind, "author": entry.author, "source": entry.source,
            "ts": entry.ts, "body": entry.body, "data": entry.data}
