"""The notification outbox: rows queued in the tick's transaction, claimed before sending,
and every attempt recorded.

Claim protocol (see docs/notifications.md):
1. `enqueue` writes rows in the transaction of the state change (dedupe key unique).
2. `due_heads` finds rows due now that are the oldest unfinished row of their (subject,
   channel): per incident and channel, changes are delivered in order.
3. `claim` commits `state = 'sending'`, who claimed and until when, and the payload (built
   once, so every retry sends the same bytes) before any byte is sent.
4. `record_attempt` commits the attempt and the row's next state, only while the claim
   is still the caller's. A claim left by a crashed worker expires and is taken again
   (`reclaimed` is recorded as an attempt with an unknown outcome).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from server.notify.model import DELIVERED, FAILED, PENDING, SENDING, Delivery, OutboxRow
from server.store import db as store
from server.store.channels import channel_from_row

_CHANNEL = "c.id, c.type, c.name, c.url, c.secret, c.rules, c.created_at, c.removed_at"
_ROW = ("n.id, n.dedupe_key, n.subject_kind, n.subject_id, n.event, n.event_at, n.summary, n.state, n.attempts,"
        " n.created_at, n.payload, n.claimed_by")


@dataclass(frozen=True)
class Attempt:
    """One delivery attempt as recorded."""

    attempt: int
    started_at: float
    duration_ms: float
    status_code: int | None
    error: str | None
    outcome: str  # done | retry | give_up | unknown
    reason: str
    retry_after: float | None


def enqueue(rows: Sequence[OutboxRow], now: float) -> None:
    """Queue rows; call inside the transaction that writes the state change. A row whose
    dedupe key is already queued is skipped."""
    for row in rows:
        store.execute(
            "INSERT INTO notifications (dedupe_key, channel_id, subject_kind, subject_id, event, event_at, summary,"
            " route, state, created_at, next_attempt_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (dedupe_key) DO NOTHING",
            (row.dedupe_key, row.channel_id, row.subject_kind, row.subject_id, row.event, row.event_at,
             row.summary, row.route, PENDING, now, now),
        )


def _delivery(row: tuple) -> Delivery:
    return Delivery(row[0], row[1], channel_from_row(row[12:]), *row[2:12])


def due_heads(now: float, limit: int = 50) -> list[Delivery]:
    """Rows to attempt now: pending and due, or claimed by a worker whose claim expired;
    only the oldest unfinished row of each (subject, channel)."""
    rows = store.fetchall(
        f"SELECT {_ROW}, {_CHANNEL} FROM notifications n JOIN channels c ON c.id = n.channel_id"
        " WHERE ((n.state = ? AND n.next_attempt_at <= ?) OR (n.state = ? AND n.claim_expires_at < ?))"
        " AND NOT EXISTS (SELECT 1 FROM notifications e WHERE e.subject_id = n.subject_id"
        " AND e.channel_id = n.channel_id AND e.id < n.id AND e.state IN (?, ?))"
        " ORDER BY n.next_attempt_at, n.id LIMIT ?",
        (PENDING, now, SENDING, now, PENDING, SENDING, limit),
    )
    return [_delivery(r) for r in rows]


def next_due_at() -> float | None:
    """When the earliest pending row that is first in its (subject, channel) line falls due
    (None when nothing waits)."""
    row = store.fetchone(
        "SELECT MIN(n.next_attempt_at) FROM notifications n WHERE n.state = ? AND NOT EXISTS (SELECT 1"
        " FROM notifications e WHERE e.subject_id = n.subject_id AND e.channel_id = n.channel_id AND e.id < n.id"
        " AND e.state IN (?, ?))", (PENDING, PENDING, SENDING))
    return row[0] if row else None


def claim(delivery: Delivery, holder: str, now: float, claim_until: float, payload: str) -> bool:
    """Take the row for one attempt, durably, before sending. False when another worker took
    it first or it is no longer due. A row taken over from an expired claim gets an attempt
    recorded with outcome `unknown`: the earlier holder may or may not have sent it."""
    with store.write_transaction():
        cursor = store.execute(
            "UPDATE notifications SET state = ?, claimed_by = ?, claim_expires_at = ?,"
            " payload = COALESCE(payload, ?) WHERE id = ? AND ((state = ? AND next_attempt_at <= ?)"
            " OR (state = ? AND claim_expires_at < ?))",
            (SENDING, holder, claim_until, payload, delivery.id, PENDING, now, SENDING, now),
        )
        if cursor.rowcount != 1:
            return False
        if delivery.state == SENDING:
            _insert_attempt(delivery.id, holder, Attempt(
                delivery.attempts + 1, now, 0.0, None, f"claim of {delivery.claimed_by} expired mid-attempt",
                "unknown", "reclaimed", None))
            store.execute("UPDATE notifications SET attempts = attempts + 1 WHERE id = ?", (delivery.id,))
    return True


def _insert_attempt(notification_id: int, holder: str, attempt: Attempt) -> None:
    store.execute(
        "INSERT INTO notification_attempts (notification_id, attempt, started_at, duration_ms, status_code, error,"
        " outcome, reason, retry_after, holder) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (notification_id, attempt.attempt, attempt.started_at, attempt.duration_ms, attempt.status_code,
         attempt.error, attempt.outcome, attempt.reason, attempt.retry_after, holder),
    )


def record_attempt(notification_id: int, holder: str, attempt: Attempt, next_at: float | None, reason: str,
                   now: float) -> bool:
    """Record an attempt and move the row on: delivered (outcome done), pending again at
    `next_at`, or failed (no `next_at`); `reason` is the row's (a give-up names why). False
    when the claim was no longer `holder`'s (the attempt is still recorded; the row is left
    to its new holder)."""
    if attempt.outcome == "done":
        state, delivered_at, failed_at = DELIVERED, now, None
    elif next_at is not None:
        state, delivered_at, failed_at = PENDING, None, None
    else:
        state, delivered_at, failed_at = FAILED, None, now
    with store.write_transaction():
        _insert_attempt(notification_id, holder, attempt)
        cursor = store.execute(
            "UPDATE notifications SET state = ?, attempts = attempts + 1, next_attempt_at = COALESCE(?, next_attempt_at),"
            " last_status = ?, last_error = ?, last_reason = ?, delivered_at = ?, failed_at = ?, claimed_by = NULL,"
            " claim_expires_at = NULL WHERE id = ? AND state = ? AND claimed_by = ?",
            (state, next_at, attempt.status_code, attempt.error, reason, delivered_at, failed_at,
             notification_id, SENDING, holder),
        )
    return cursor.rowcount == 1


def fail_unsendable(delivery: Delivery, reason: str, now: float) -> None:
    """Mark a row failed without sending it (its channel was removed)."""
    with store.write_transaction():
        store.execute(
            "UPDATE notifications SET state = ?, failed_at = ?, last_reason = ?, last_error = ?,"
            " claimed_by = NULL, claim_expires_at = NULL WHERE id = ? AND state IN (?, ?)",
            (FAILED, now, reason, reason, delivery.id, PENDING, SENDING),
        )


# -- reads for the surfaces -----------------------------------------------------------------
_LIST = ("n.id, n.dedupe_key, n.channel_id, c.type, c.name, n.subject_kind, n.subject_id, n.event, n.event_at,"
         " n.summary, n.route, n.state, n.created_at, n.next_attempt_at, n.attempts, n.last_status, n.last_error,"
         " n.last_reason, n.delivered_at, n.failed_at")
_LIST_KEYS = ("id", "dedupe_key", "channel_id", "channel_type", "channel_name", "subject_kind", "subject_id",
              "event", "event_at", "summary", "route", "state", "created_at", "next_attempt_at", "attempts",
              "last_status", "last_error", "last_reason", "delivered_at", "failed_at")
_ATTEMPT_KEYS = ("attempt", "started_at", "duration_ms", "status_code", "error", "outcome", "reason", "retry_after")


def list_notifications(*, state: str | None = None, subject_id: str | None = None, channel_id: str | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
    """Notifications newest first, each with its attempts (oldest first)."""
    where, params = [], []
    for column, value in (("n.state", state), ("n.subject_id", subject_id), ("n.channel_id", channel_id)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(
        f"SELECT {_LIST} FROM notifications n JOIN channels c ON c.id = n.channel_id{clause}"
        " ORDER BY n.id DESC LIMIT ?", (*params, limit))
    found = [dict(zip(_LIST_KEYS, r, strict=True)) for r in rows]
    if found:
        by_id = {n["id"]: n for n in found}
        for n in found:
            n["attempt_log"] = []
        marks = ", ".join("?" * len(by_id))
        for notification_id, *values in store.fetchall(
            f"SELECT notification_id, {', '.join(_ATTEMPT_KEYS)} FROM notification_attempts"
            f" WHERE notification_id IN ({marks}) ORDER BY id", list(by_id)):
            by_id[notification_id]["attempt_log"].append(dict(zip(_ATTEMPT_KEYS, values, strict=True)))
    return found


def notifications_for(subject_id: str, limit: int = 200) -> list[dict[str, Any]]:
    """An incident's or health alert's notifications, in the order they were queued."""
    return list(reversed(list_notifications(subject_id=subject_id, limit=limit)))


def incident_facts(incident_ids: Sequence[str]) -> dict[str, tuple[str, str, str, str, str, str, str | None]]:
    """id -> (service, env, step, error_code, cause, kind, severity) as stored: inside a
    tick's transaction, before its writes, that is the incident as it was before the tick."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    marks = ", ".join("?" * len(ids))
    return {r[0]: tuple(r[1:]) for r in store.fetchall(  # type: ignore[misc]
        f"SELECT id, service, env, step, error_code, cause, kind, severity FROM incidents WHERE id IN ({marks})",
        ids)}
