"""Declaring an incident by hand: a customer report, a security event — something no spike opened.

A declared incident lives on the same lifecycle (held active by its declaration until a
person resolves it), timeline, report and notifications as any other. Its families are the
service's failing families in the last detection window (a placeholder family
`<service>/*/declared` when nothing failed there); its evidence is captured from that window
now, and the engine keeps refreshing it like any open incident's. The report says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.config import Settings
from server.engine.lifecycle import ManualState
from server.engine.model import Family
from server.engine.severity import DERIVED, MANUAL, SEVERITIES, derive_severity
from server.engine.tick import Engine, incident_id
from server.errors import ValidationFailed
from server.evidence.capture import evidence_rows
from server.evidence.snapshot import LATEST
from server.evidence.subject import Subject
from server.incidentlog.actions import MAX_BODY, MAX_NAME
from server.incidentlog.hook import DECLARED
from server.notify.hook import enqueue_notifications
from server.store import counters, events, incidents
from server.store.events import bucket_of
from server.store.incidents import NewIncident, TickWrites
from server.store.timeline import PERSON, TimelineEntry
from server.timefmt import iso, parse_time

PLACEHOLDER_STEP, PLACEHOLDER_CODE = "*", "declared"
DEFAULT_ENV = "production"


@dataclass(frozen=True)
class Declaration:
    service: str
    env: str | None
    title: str
    severity: str | None
    author: str
    started_at: float | None = None


def parse_declaration(payload: Any, default_author: str, now: float) -> Declaration:
    """The declaration in a request body; raises ValidationFailed naming every bad field."""
    if not isinstance(payload, dict):
        raise ValidationFailed("expected a JSON object", {"body": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}

    def text(name: str, limit: int, required: bool = False) -> str | None:
        value = payload.get(name)
        if value is None or value == "":
            if required:
                errors[name] = ["required"]
            return None
        if not isinstance(value, str) or not value.strip() or "\x00" in value or len(value) > limit:
            errors[name] = [f"must be a non-empty string of at most {limit} characters"]
            return None
        return value.strip()

    service = text("service", MAX_NAME, required=True)
    env = text("env", MAX_NAME)
    title = text("title", MAX_BODY, required=True)
    author = text("author", MAX_NAME) or default_author
    severity = payload.get("severity")
    if severity is not None and severity not in SEVERITIES:
        errors["severity"] = [f"must be one of {', '.join(SEVERITIES)}"]
    started_at = None
    if payload.get("started_at") is not None:
        try:
            started_at = parse_time(payload["started_at"])
            if started_at > now + 60:
                errors["started_at"] = ["must not be in the future"]
        except ValueError as exc:
            errors["started_at"] = [str(exc)]
    if errors:
        raise ValidationFailed("bad declaration", errors)
    return Declaration(service, env, title, severity, author, started_at)  # type: ignore[arg-type]


def recent_failures(service: str, env: str | None, now: float, settings: Settings) -> list[Family]:
    """The service's failing families in the last detection window, most failures first."""
    lo = bucket_of(now - settings.window_seconds, settings.bucket_seconds)
    found = counters.families_with_errors(lo, bucket_of(now, settings.bucket_seconds) + settings.bucket_seconds, 1)
    mine = [(n, f) for f, n in found.items() if f.service == service and (env is None or f.env == env)]
    return [f for _, f in sorted(mine, key=lambda p: (-p[0], p[1]))]


def declare(declaration: Declaration, settings: Settings, key_id: str | None, now: float) -> str:
    """Open the declared incident, its evidence, timeline entry and notifications in one
    transaction; returns its id."""
    failing = recent_failures(declaration.service, declaration.env, now, settings)
    env = declaration.env or (failing[0].env if failing else DEFAULT_ENV)
    families = [f for f in failing if f.env == env] or [Family(declaration.service, env, PLACEHOLDER_STEP,
                                                               PLACEHOLDER_CODE)]
    primary = families[0]
    since = now - settings.window_seconds
    firsts = [t for f in families if (t := events.first_error_ts(f, since, now + 1)) is not None]
    onset = declaration.started_at if declaration.started_at is not None else min(firsts, default=now)
    attempt = 0
    while incidents.id_taken(new_id := incident_id(primary, onset, attempt)):
        attempt += 1

    # The engine's own analysis over the same traces: cause, origin and next checks as a spike gets.
    cause, doc = Engine(settings, f"declare:{key_id}").analyse(primary, families, onset, now)
    doc["detection"] = {"declared": {
        "by": declaration.author, "title": declaration.title, "window_from": iso(since), "window_to": iso(now),
        "families": [f.label for f in failing if f.env == env],
        "note": (f"declared by hand by {declaration.author}; evidence is from {declaration.service}'s last"
                 f" {settings.window_seconds:g}s ({env})" + ("" if failing else ": nothing failed there")),
    }}
    snapshots = evidence_rows(Subject(new_id, primary, tuple(families), onset, doc), now, settings, opening=True)
    new = NewIncident(new_id, primary, onset, now, dict.fromkeys(families, 0.0), cause.kind, cause.confidence, doc,
                      DECLARED)
    blast = next((snap for i, kind, phase, _, snap in snapshots if kind == "blast" and phase == LATEST), None)
    if declaration.severity:
        severity = (declaration.severity, MANUAL, f"set by {declaration.author} when declaring", declaration.author)
    else:
        verdict = derive_severity(blast, settings.severity_rules)
        severity = (verdict.level, DERIVED, verdict.reason, None)
    # The same "opened" notices as a spike's, routed by the same rules (severity and team included).
    writes = TickWrites(new=[new], severities=[(new_id, severity[0], severity[2], now)])
    enqueue_notifications(writes, now)
    entry = TimelineEntry(new_id, now, "declare", declaration.author, PERSON,
                          f"declared: {declaration.title}" + (f" ({declaration.severity})" if declaration.severity
                                                              else ""),
                          {"title": declaration.title, "severity": declaration.severity}, key_id)
    manual = ManualState("active", declaration.author, now, "declared by hand", declared=True)
    incidents.insert_declared(new, snapshots, manual, declaration.title, severity, [entry], writes.notifications, now)
    return new_id
