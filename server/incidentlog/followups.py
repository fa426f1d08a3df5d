"""Follow-ups: parsing what people send, and recording it (with its timeline entry)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from server.errors import NotFound, ValidationFailed
from server.incidentlog.actions import MAX_BODY, MAX_NAME
from server.store import followups, timeline
from server.store.followups import DONE, OPEN, STATUSES, due_date
from server.store.timeline import PERSON, TimelineEntry
from server.timefmt import parse_time

DAY = 86400.0


def parse_due(value: Any) -> float:
    """Seconds from `YYYY-MM-DD` (due by the end of that day, UTC), RFC 3339 or epoch seconds."""
    if isinstance(value, str) and len(value) == 10:
        try:
            day = date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a date (YYYY-MM-DD) or an RFC 3339 time") from None
        return datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() + DAY
    return parse_time(value)


def _fields(payload: Any, *, creating: bool) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise ValidationFailed("expected a JSON object", {"body": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}
    found: dict[str, Any] = {}
    for name, limit in (("title", MAX_BODY), ("owner", MAX_NAME), ("author", MAX_NAME)):
        value = payload.get(name)
        if value is None:
            continue
        if not isinstance(value, str) or not value.strip() or "\x00" in value or len(value) > limit:
            errors[name] = [f"must be a non-empty string of at most {limit} characters"]
        else:
            found[name] = value.strip()
    if creating and "title" not in found and "title" not in errors:
        errors["title"] = ["required"]
    if payload.get("due") is not None:
        try:
            found["due_at"] = parse_due(payload["due"])
        except ValueError as exc:
            errors["due"] = [str(exc)]
    if payload.get("status") is not None:
        if payload["status"] not in STATUSES:
            errors["status"] = [f"must be one of {', '.join(STATUSES)}"]
        else:
            found["status"] = payload["status"]
    if errors:
        raise ValidationFailed("bad follow-up", errors)
    return found


def add_followup(incident_id: str, payload: Any, default_author: str, key_id: str | None,
                 now: float) -> dict[str, Any]:
    fields = _fields(payload, creating=True)
    if timeline.response_state(incident_id) is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    author = fields.get("author", default_author)
    due = f", due {due_date(fields['due_at'])}" if fields.get("due_at") else ""
    owner = f" (owner {fields['owner']}{due})" if fields.get("owner") else (f" ({due[2:]})" if due else "")
    entry = TimelineEntry(incident_id, now, "follow-up", author, PERSON, f"{fields['title']}{owner}",
                          {"title": fields["title"], "owner": fields.get("owner"), "due_at": fields.get("due_at")},
                          key_id)
    return followups.create_followup(incident_id, fields["title"], fields.get("owner"), fields.get("due_at"), author,
                                     entry, now)


def change_followup(followup_id: str, payload: Any, default_author: str, key_id: str | None,
                    now: float) -> dict[str, Any]:
    fields = _fields(payload, creating=False)
    current = followups.get_followup(followup_id, now)
    if current is None:
        raise NotFound(f"no follow-up {followup_id}", {"followup_id": ["unknown"]})
    author = fields.pop("author", default_author)
    changes = {k: v for k, v in fields.items() if current.get(k) != v}
    if changes.get("status") == DONE:
        changes.update(closed_at=now, closed_by=author)
    elif changes.get("status") == OPEN:
        changes.update(closed_at=None, closed_by=None)
    said = []
    if "status" in changes:
        said.append("done" if changes["status"] == DONE else "reopened")
    said += [f"{name} {due_date(changes[key]) if key == 'due_at' else changes[key]}"
             for name, key in (("title", "title"), ("owner", "owner"), ("due", "due_at")) if key in changes]
    entry = TimelineEntry(current["incident_id"], now, "follow-up", author, PERSON,
                          f"follow-up {current['title']}: {', '.join(said) or 'unchanged'}",
                          {"followup_id": followup_id, **{k: v for k, v in changes.items() if k in fields}}, key_id)
    return followups.update_followup(followup_id, changes, entry, now)
