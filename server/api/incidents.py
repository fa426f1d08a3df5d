"""GET /v1/incidents and /v1/incidents/{id}."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from server.api.alerts import present_alert
from server.api.ingest import limit_arg
from server.api.notifications import present_notification
from server.auth import requires
from server.engine.model import STATES
from server.errors import NotFound, ValidationFailed, json_response
from server.evidence.items import evidence_items
from server.evidence.stored import current_snapshots
from server.store import incidents
from server.store.alerts import alerts_for_incident
from server.store.notifications import notifications_for
from server.timefmt import iso

bp = Blueprint("incidents", __name__)

_TIMES = ("onset", "opened_at", "updated_at", "recovering_since", "resolved_at",
          "acknowledged_at", "assigned_at", "manual_at")  # the last three: the incident log's


def present(incident: dict[str, Any]) -> dict[str, Any]:
    """The API shape of an incident: RFC 3339 times, the primary family spelled out."""
    body = {k: v for k, v in incident.items() if k not in ("analysis", "snapshots", "service", "env",
                                                             "step", "error_code")}
    body["family"] = {k: incident[k] for k in ("service", "env", "step", "error_code")}
    for name in _TIMES:
        body[name] = iso(incident.get(name))
    analysis = incident.get("analysis")
    if analysis is not None:
        body["origin"] = analysis.get("origin")
        body["reasons"] = analysis.get("cause", {}).get("reasons", [])
        body["next_checks"] = analysis.get("next_checks", [])
        body["sample_traces"] = analysis.get("sample_traces", [])
        body["detection"] = analysis.get("detection", {})
    if "families" in incident:
        body["families"] = [{**f, "joined_at": iso(f["joined_at"])} for f in incident["families"]]
    if "transitions" in incident:
        body["transitions"] = [{**t, "at": iso(t["at"])} for t in incident["transitions"]]
    if "snapshots" in incident:
        current = current_snapshots(incident["snapshots"])
        body["evidence"] = evidence_items(incident, current)
        body["evidence_status"] = {
            kind: {"status": snap.content.get("status"), "status_reason": snap.content.get("status_reason"),
                   "phase": snap.phase, "captured_at": iso(snap.captured_at)}
            for kind, snap in current.items()
        }
    return body


def incident_summaries(state: str, service: str | None, limit: int) -> list[dict[str, Any]]:
    """The listed incidents, newest first; `service` keeps those with a family in that service
    (then each also carries `origin` and `impact`). The REST list and agent plans share it."""
    if service:
        rows = incidents.find_incidents(STATES if state == "all" else (state,), service=service, limit=limit)
    else:
        rows = incidents.list_incidents(None if state == "all" else state, limit)
    return [present(r) for r in rows]


@bp.get("/v1/incidents")
@requires("read")
def list_incidents():
    state = request.args.get("state", "all")
    if state not in (*STATES, "all"):
        raise ValidationFailed("bad state", {"state": [f"must be one of {', '.join((*STATES, 'all'))}"]})
    return json_response({"incidents": incident_summaries(state, request.args.get("service"), limit_arg())})


@bp.get("/v1/incidents/<incident_id>")
@requires("read")
def get_incident(incident_id: str):
    incident = incidents.get_incident(incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    # Read live: an attached alert's status here is its current one (the evidence snapshot
    # holds it as last captured).
    return json_response({**present(incident), "alerts": [present_alert(a) for a in alerts_for_incident(incident_id)],
                          "notifications": [present_notification(n) for n in notifications_for(incident_id)]})
