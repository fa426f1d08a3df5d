"""People's entries on an incident's timeline: note, action, acknowledge, assign, severity,
resolve, reopen. Parsed and checked here, recorded by `store.timeline.record` together with
what they change on the incident.

A resolve or reopen records a person's decision (`manual_state`); the engine applies it at
its next tick and keeps it from then on (`engine.lifecycle.manual_transition`). Nothing here
moves an incident's state itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.engine.model import ACTIVE, RESOLVED
from server.engine.severity import MANUAL, SEVERITIES
from server.errors import ApiError, NotFound, ValidationFailed
from server.store import timeline
from server.store.timeline import PERSON, TimelineEntry

PERSON_KINDS = ("note", "action", "acknowledge", "assign", "severity", "resolve", "reopen")
# Kinds people add through their own routes (they carry more than text).
ROUTED_KINDS = {"follow-up": "POST /v1/incidents/{id}/followups", "artifact": "POST /v1/incidents/{id}/artifacts"}
MAX_BODY = 10_000
MAX_NAME = 200


class Conflict(ApiError):
    status = 409
    code = "conflict"


@dataclass(frozen=True)
class PersonEntry:
    """A parsed request: the kind, its text, who, and the kind's own fields."""

    kind: str
    author: str
    body: str
    fields: dict[str, Any] = field(default_factory=dict)


def _text(payload: Mapping[str, Any], name: str, errors: dict[str, list[str]], *, limit: int,
          required: bool = False) -> str | None:
    value = payload.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = ["required"]
        return None
    if not isinstance(value, str):
        errors[name] = ["must be a string"]
        return None
    if "\x00" in value:
        errors[name] = ["must not contain NUL characters"]
        return None
    if len(value) > limit:
        errors[name] = [f"longer than {limit} characters"]
        return None
    return value.strip()


def parse_entry(payload: Any, default_author: str) -> tuple[PersonEntry | None, dict[str, list[str]]]:
    """A person's entry from a request body, or the field errors. `author` defaults to
    `default_author` (the API key's name)."""
    if not isinstance(payload, dict):
        return None, {"body": ["expected a JSON object"]}
    errors: dict[str, list[str]] = {}
    kind = payload.get("kind")
    if kind in ROUTED_KINDS:
        return None, {"kind": [f"add a {kind} with {ROUTED_KINDS[kind]}"]}
    if kind not in PERSON_KINDS:
        return None, {"kind": [f"must be one of {', '.join(PERSON_KINDS)}"]}
    author = _text(payload, "author", errors, limit=MAX_NAME) or default_author
    body = _text(payload, "body", errors, limit=MAX_BODY, required=kind in ("note", "action"))
    fields: dict[str, Any] = {}
    if kind == "assign":
        fields["to"] = _text(payload, "to", errors, limit=MAX_NAME, required=True)
    elif kind == "severity":
        level = payload.get("severity")
        if level not in SEVERITIES:
            errors["severity"] = [f"must be one of {', '.join(SEVERITIES)}"]
        fields["severity"] = level
    elif kind in ("resolve", "reopen"):
        reason = _text(payload, "reason", errors, limit=MAX_BODY) or body
        if kind == "resolve" and not reason and "reason" not in errors:
            errors["reason"] = ["say why it is resolved"]
        fields["reason"] = reason
    if errors:
        return None, errors
    return PersonEntry(kind, author, body or "", fields), {}


def _check(kind: str, state: Mapping[str, Any]) -> None:
    """Refuse what cannot apply to the incident as it is (409)."""
    resolved_by_hand = state["manual_state"] == RESOLVED
    if kind == "resolve" and (resolved_by_hand or (state["state"] == RESOLVED and state["manual_state"] != ACTIVE)):
        raise Conflict("the incident is already resolved" + (" (by hand)" if resolved_by_hand else ""),
                       {"kind": ["already resolved"]})
    if kind == "reopen" and state["manual_state"] == ACTIVE:
        raise Conflict("the incident is already held open by a person (reopened or declared)",
                       {"kind": ["already reopened"]})
    if kind == "reopen" and state["state"] == ACTIVE and not resolved_by_hand:
        raise Conflict("the incident is active", {"kind": ["already active"]})


def _change(entry: PersonEntry, state: Mapping[str, Any], now: float) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """The entry's text, data, and the incident fields it changes."""
    by, kind, fields = entry.author, entry.kind, entry.fields
    note = f": {entry.body}" if entry.body else ""
    if kind == "acknowledge":
        if state["acknowledged_by"]:
            return f"acknowledged (already acknowledged by {state['acknowledged_by']}){note}", {}, {}
        return f"acknowledged{note}", {}, {"acknowledged_by": by, "acknowledged_at": now}
    if kind == "assign":
        before = f" (was {state['assignee']})" if state["assignee"] else ""
        return (f"assigned to {fields['to']}{before}{note}", {"to": fields["to"], "from": state["assignee"]},
                {"assignee": fields["to"], "assigned_at": now})
    if kind == "severity":
        level, before = fields["severity"], state["severity"]
        reason = entry.body or f"set by {by}"
        change = f"{before} → {level}" if before else level
        return (f"severity {change} (set by hand){note}",
                {"from": before, "to": level, "source": MANUAL},
                {"severity": level, "severity_source": MANUAL, "severity_reason": reason, "severity_by": by})
    if kind in ("resolve", "reopen"):
        reason = fields["reason"]
        what = "resolved by hand" if kind == "resolve" else "reopened"
        return (f"{what}{f': {reason}' if reason else ''}", {"reason": reason},
                {"manual_state": RESOLVED if kind == "resolve" else ACTIVE, "manual_by": by, "manual_at": now,
                 "manual_reason": reason})
    return entry.body, {}, {}


def record_entry(incident_id: str, entry: PersonEntry, key_id: str | None, now: float) -> dict[str, Any]:
    """Record `entry` on the incident's timeline with what it changes; the entry as the
    timeline shows it. Raises NotFound (no such incident) or Conflict."""
    state = timeline.response_state(incident_id)
    if state is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    _check(entry.kind, state)
    body, data, updates = _change(entry, state, now)
    return timeline.record(TimelineEntry(incident_id, now, entry.kind, entry.author, PERSON, body, data, key_id),
                           updates)


def require_entry(payload: Any, default_author: str) -> PersonEntry:
    entry, errors = parse_entry(payload, default_author)
    if entry is None:
        raise ValidationFailed("bad timeline entry", errors)
    return entry
