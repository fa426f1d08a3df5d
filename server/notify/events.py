"""Which state changes are notified: a tick's writes in, notices out. Pure.

Incidents: opened, cause_changed, recovering, reactivated (back to active), resolved.
Health alerts: raised, cleared. Each notice carries what routing rules match on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from server.notify.model import HEALTH_ALERT, INCIDENT, Notice

_EVENT_OF_STATE = {"recovering": "recovering", "resolved": "resolved"}


@dataclass(frozen=True)
class IncidentFacts:
    """What routing and the one-line summary need of an incident."""

    id: str
    service: str
    env: str
    step: str
    error_code: str
    cause: str
    severity: str | None = None
    kind: str = "errors"
    team: str | None = None  # the service's owner in the catalog

    @property
    def label(self) -> str:
        if self.kind == "errors":
            return f"{self.service} {self.step} {self.error_code}"
        what = self.error_code.replace("_", " ")
        return f"{self.service} {what}" if self.step == "*" else f"{self.service} {self.step} {what}"

    def attributes(self, cause: str | None = None) -> dict[str, str | None]:
        found = {"service": self.service, "env": self.env, "severity": self.severity, "cause": cause or self.cause}
        if self.team is not None:
            found["team"] = self.team  # only services the catalog names an owner for
        return found


@dataclass(frozen=True)
class StateMove:
    incident_id: str
    from_state: str | None
    to_state: str
    at: float


@dataclass(frozen=True)
class CauseMove:
    incident_id: str
    from_cause: str
    to_cause: str
    at: float


@dataclass(frozen=True)
class HealthMove:
    """A health alert raised or cleared."""

    alert_id: str
    event: str  # raised | cleared
    key: str
    scope: str
    severity: str
    service: str | None
    env: str | None
    reason: str
    at: float


def incident_notices(opened: Iterable[IncidentFacts], opened_at: Mapping[str, float], moves: Iterable[StateMove],
                     causes: Iterable[CauseMove], facts: Mapping[str, IncidentFacts]) -> list[Notice]:
    """Notices for incidents opened, moved between states and re-classified in one tick.
    `facts` must hold every incident named in `moves` and `causes`."""
    notices = [Notice(INCIDENT, f.id, "opened", opened_at[f.id],
                      f"{f.id} opened: {f.label} (cause {f.cause})", f.attributes()) for f in opened]
    for move in causes:
        f = facts[move.incident_id]
        notices.append(Notice(INCIDENT, f.id, "cause_changed", move.at,
                              f"{f.id} cause changed from {move.from_cause} to {move.to_cause}: {f.label}",
                              f.attributes(move.to_cause)))
    for move in moves:
        f = facts[move.incident_id]
        event = _EVENT_OF_STATE.get(move.to_state)
        if event is None and move.to_state == "active" and move.from_state in ("recovering", "resolved"):
            event = "reactivated"  # spiking again while recovering, or reopened by a person
        if event is None:
            continue
        notices.append(Notice(INCIDENT, f.id, event, move.at, f"{f.id} {event}: {f.label}", f.attributes()))
    return notices


def health_notices(moves: Iterable[HealthMove]) -> list[Notice]:
    """Notices for health alerts raised and cleared; a health alert's key routes as its cause."""
    return [
        Notice(HEALTH_ALERT, m.alert_id, m.event, m.at,
               f"{m.key} {m.event}: {m.scope}: {m.reason}",
               {"service": m.service, "env": m.env, "severity": m.severity, "cause": m.key})
        for m in moves
    ]
