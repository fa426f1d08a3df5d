"""Alert evidence: the alerts from Alertmanager, Grafana, PagerDuty or Onset's own format
that the engine attached to the incident (`engine.correlate`), each with a stable
`alert:<alert_id>` id and why it matched.

Only what a notification can change is kept (status, end), never receive counters: a
repeated notification must not rewrite the snapshot or move `report_hash`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from server.evidence.snapshot import OK, snapshot
from server.evidence.subject import Subject
from server.store.alerts import alerts_for_incident
from server.timefmt import relative_to_onset

MAX_ALERTS = 20
SENDERS = {"alertmanager": "Alertmanager", "grafana": "Grafana", "pagerduty": "PagerDuty", "onset": "Onset"}
MATCHES = {"trace_id": "carries a trace id of the incident", "error_code": "carries an error code of the incident",
           "service": "same service near the onset"}


def alert_line(alert: dict[str, Any], onset: float) -> str:
    """`Alertmanager alert HighErrorRate (critical) on payment: payment 5xx rate above 5%; fired 2m
    before the onset, resolved 4m after the onset`."""
    sender = SENDERS.get(alert["source"], alert["source"])
    severity = f" ({alert['severity']})" if alert.get("severity") else ""
    service = f" on {alert['service']}" if alert.get("service") else ""
    summary = (alert.get("annotations") or {}).get("summary")
    text = f"{sender} alert {alert['name']}{severity}{service}"
    if summary and summary != alert["name"]:
        text += f": {summary}"
    text += f"; fired {relative_to_onset(alert['starts_at'] - onset)}"
    if alert["status"] == "resolved":
        end = alert.get("ends_at")
        text += f", resolved {relative_to_onset(end - onset)}" if end is not None else ", resolved"
    else:
        text += ", still firing"
    return text


def alerts_snapshot(attached: Sequence[dict[str, Any]], onset: float) -> dict[str, Any]:
    """The snapshot of the attached alerts (`store.alerts.alerts_for_incident` rows). Over
    MAX_ALERTS, those that started nearest the onset are kept."""
    nearest = sorted(attached, key=lambda a: (abs(a["starts_at"] - onset), a["alert_id"]))
    kept = sorted(nearest[:MAX_ALERTS], key=lambda a: (a["starts_at"], a["alert_id"]))
    items = []
    for a in kept:
        annotations = a.get("annotations") or {}
        items.append({
            "id": f"alert:{a['alert_id']}", "source": a["source"], "name": a["name"], "status": a["status"],
            "severity": a.get("severity"), "service": a.get("service"), "env": a.get("env"),
            "summary": alert_line(a, onset), "ts": a["starts_at"], "ends_at": a.get("ends_at"),
            "offset_seconds": round(a["starts_at"] - onset, 3),
            "relation": "before" if a["starts_at"] <= onset else "after",
            "match": a.get("match"), "match_reason": MATCHES.get(a.get("match") or ""),
            "description": annotations.get("description"), "runbook_url": annotations.get("runbook_url"),
            "links": a.get("links") or {}, "fingerprint": a["fingerprint"],
        })
    return snapshot(OK, items=items, items_left_out=max(0, len(attached) - MAX_ALERTS))


def capture_alerts(subject: Subject) -> dict[str, Any]:
    return alerts_snapshot(alerts_for_incident(subject.incident_id), subject.onset)
