"""Which alerts belong to which open incident. Pure: plain facts in, links with a named reason out.

Alerts never open incidents; they are context. An alert attaches to an open incident when

* it carries a trace id whose failing events belong to one of the incident's families
  (reason `trace_id`), or
* it carries an error code of the incident: a family's, the origin's or one on the
  causal path (reason `error_code`),

and its firing overlaps the incident (it had not ended `window` seconds before the onset);
or, failing those, when

* its service is the incident's origin or one of its affected services, its env matches,
  and it started within `window` seconds before or after the onset (reason `service`).

Alerts arrive before or after the incident opens, and incidents open after their alerts:
the engine re-runs this every tick over the open incidents, so either order links them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from server.engine.model import Family

TRACE_ID, ERROR_CODE, SERVICE = "trace_id", "error_code", "service"

# Senders spell environments their own way ("prod" in Prometheus labels, "production" in
# events by default): these spellings mean the same env.
_ENV_ALIASES = {
    "prod": "production", "prd": "production", "production": "production",
    "stage": "staging", "stg": "staging", "staging": "staging",
    "dev": "development", "development": "development",
}
# Codes too generic to tie an alert to one incident.
_VAGUE_CODES = frozenset({"unknown", "error", ""})


@dataclass(frozen=True)
class AlertFacts:
    """What matching needs of a stored alert. `ends_at` is None while it fires."""

    alert_id: str
    service: str | None
    env: str | None
    starts_at: float
    ends_at: float | None
    trace_id: str | None
    error_code: str | None


@dataclass(frozen=True)
class IncidentFacts:
    incident_id: str
    env: str
    onset: float
    families: frozenset[Family]
    services: frozenset[str]
    error_codes: frozenset[str]


@dataclass(frozen=True)
class AlertLink:
    incident_id: str
    alert_id: str
    reason: str  # trace_id | error_code | service


def same_env(alert_env: str | None, incident_env: str) -> bool:
    """An alert without an env matches any; otherwise the spellings must mean the same env."""
    if not alert_env:
        return True
    a, b = alert_env.strip().lower(), incident_env.strip().lower()
    return _ENV_ALIASES.get(a, a) == _ENV_ALIASES.get(b, b)


def incident_facts(incident_id: str, families: Iterable[Family], onset: float,
                   analysis: Mapping[str, Any]) -> IncidentFacts:
    """Facts of an incident from its families and the engine's stored analysis (its origin
    and causal path name the affected services and the codes seen on the way)."""
    families = frozenset(families)
    origin = analysis.get("origin") or {}
    path = origin.get("path") or []
    services = {f.service for f in families} | {p["service"] for p in path if p.get("service")}
    if origin.get("service"):
        services.add(origin["service"])
    codes = {f.error_code for f in families} | {p["error_code"] for p in path if p.get("error_code")}
    if origin.get("error_code"):
        codes.add(origin["error_code"])
    env = min(families).env if families else ""
    return IncidentFacts(incident_id, env, onset, families, frozenset(services),
                         frozenset(c.lower() for c in codes) - _VAGUE_CODES)


def _overlaps(alert: AlertFacts, incident: IncidentFacts, window: float, now: float) -> bool:
    return alert.starts_at <= now and (alert.ends_at is None or alert.ends_at >= incident.onset - window)


def match_reason(incident: IncidentFacts, alert: AlertFacts, trace_families: Mapping[str, frozenset[Family]],
                 window: float, now: float) -> str | None:
    """Why `alert` belongs to `incident` (the strongest reason), or None.

    `trace_families` maps a trace id to the families of its failing events.
    """
    if not same_env(alert.env, incident.env):
        return None
    if _overlaps(alert, incident, window, now):
        if alert.trace_id and trace_families.get(alert.trace_id, frozenset()) & incident.families:
            return TRACE_ID
        if alert.error_code and alert.error_code.lower() in incident.error_codes:
            return ERROR_CODE
    if alert.service and alert.service in incident.services and abs(alert.starts_at - incident.onset) <= window:
        return SERVICE
    return None


def match_alerts(incidents: Iterable[IncidentFacts], alerts: Iterable[AlertFacts],
                 trace_families: Mapping[str, frozenset[Family]], window: float, now: float) -> list[AlertLink]:
    """Every (incident, alert) pair that matches, ordered by incident then alert id. An alert
    may belong to several incidents."""
    alerts = sorted(alerts, key=lambda a: a.alert_id)
    links = []
    for incident in sorted(incidents, key=lambda i: i.incident_id):
        for alert in alerts:
            reason = match_reason(incident, alert, trace_families, window, now)
            if reason is not None:
                links.append(AlertLink(incident.incident_id, alert.alert_id, reason))
    return links
