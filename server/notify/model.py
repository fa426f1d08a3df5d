"""Plain data passed between the notification stages. No I/O."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

INCIDENT, HEALTH_ALERT = "incident", "health_alert"
SUBJECT_KINDS = (INCIDENT, HEALTH_ALERT)

INCIDENT_EVENTS = ("opened", "cause_changed", "recovering", "reactivated", "resolved")
HEALTH_EVENTS = ("raised", "cleared")
EVENTS = INCIDENT_EVENTS + HEALTH_EVENTS

# Outbox row states: pending -> sending (claimed) -> delivered | pending (retry) | failed.
PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
STATES = (PENDING, SENDING, DELIVERED, FAILED)

CHANNEL_TYPES = ("slack", "webhook", "pagerduty")
RULE_FIELDS = ("service", "env", "severity", "cause", "events", "team")  # team: the catalog's owner of the service


@dataclass(frozen=True)
class Notice:
    """One state change worth telling people about.

    `attributes` are what routing rules match: service, env, severity, cause (for a health
    alert, its key). A value may be None (an incident has no severity before issue 10).
    """

    subject_kind: str
    subject_id: str
    event: str
    at: float
    summary: str
    attributes: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Rule:
    """Any-of lists per attribute; an empty list matches every value."""

    service: tuple[str, ...] = ()
    env: tuple[str, ...] = ()
    severity: tuple[str, ...] = ()
    cause: tuple[str, ...] = ()
    events: tuple[str, ...] = ()
    team: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, list[str]]:
        return {name: list(getattr(self, name)) for name in RULE_FIELDS if getattr(self, name)}

    @classmethod
    def from_dict(cls, doc: dict[str, Any]) -> Rule:
        return cls(**{name: tuple(doc.get(name) or ()) for name in RULE_FIELDS})


@dataclass(frozen=True)
class Channel:
    """A configured destination. `secret` is the webhook signing secret or the PagerDuty
    routing key; it never leaves the server."""

    id: str
    type: str
    name: str
    url: str
    secret: str | None
    rules: tuple[Rule, ...]
    created_at: float
    removed_at: float | None = None


@dataclass(frozen=True)
class OutboxRow:
    """A notification to write in the tick's transaction: one notice for one channel."""

    dedupe_key: str
    channel_id: str
    subject_kind: str
    subject_id: str
    event: str
    event_at: float
    summary: str
    route: str  # why the channel took it: "rule 2 matched", "no rules: every notice"


@dataclass(frozen=True)
class Delivery:
    """A claimed outbox row with what the worker needs to send it."""

    id: int
    dedupe_key: str
    channel: Channel
    subject_kind: str
    subject_id: str
    event: str
    event_at: float
    summary: str
    state: str
    attempts: int
    created_at: float
    payload: str | None
    claimed_by: str | None


@dataclass(frozen=True)
class HttpRequest:
    """What a channel sends: the URL comes from the channel, never from the stored payload."""

    url: str
    body: bytes
    headers: dict[str, str]


@dataclass(frozen=True)
class SendResult:
    """What came back from one attempt: a status (None when no answer came) or an error."""

    status: int | None
    retry_after: float | None = None
    body: str = ""
    error: str | None = None
    duration_ms: float = 0.0
