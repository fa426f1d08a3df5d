"""The incident log's routes on one incident: POST /v1/incidents (declare), GET/POST
/v1/incidents/{id}/timeline, GET /v1/incidents/{id}/similar and /postmortem.

Reading needs `read`; every write needs `respond`. The author of an entry is the API key's
name unless the body names one.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, Response, current_app, g

from server.api.incidents import present
from server.api.ingest import json_payload
from server.auth import requires
from server.errors import NotFound, json_response
from server.evidence.similar import similar_for
from server.incidentlog.actions import record_entry, require_entry
from server.incidentlog.declare import declare, parse_declaration
from server.incidentlog.postmortem import render_postmortem
from server.store import artifacts, followups, incidents, timeline
from server.timefmt import iso
from server.triage.lookup import generator
from server.triage.report import build_report

bp = Blueprint("timeline", __name__)


def present_entry(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "ts": iso(entry["ts"])}


def known_incident(incident_id: str) -> dict[str, Any]:
    incident = incidents.get_incident(incident_id)
    if incident is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    return incident


@bp.post("/v1/incidents")
@requires("respond")
def declare_incident():
    now = time.time()
    declaration = parse_declaration(json_payload(), g.key.name, now)
    incident_id = declare(declaration, current_app.config["ONSET"], g.key.key_id, now)
    return json_response(present(known_incident(incident_id)), 201,
                         {"Location": f"/v1/incidents/{incident_id}"})


@bp.get("/v1/incidents/<incident_id>/timeline")
@requires("read")
def get_timeline(incident_id: str):
    known_incident(incident_id)
    return json_response({"incident_id": incident_id,
                          "entries": [present_entry(e) for e in timeline.timeline_of(incident_id)]})


@bp.post("/v1/incidents/<incident_id>/timeline")
@requires("respond")
def post_timeline(incident_id: str):
    entry = require_entry(json_payload(), g.key.name)
    return json_response(present_entry(record_entry(incident_id, entry, g.key.key_id, time.time())), 201)


@bp.get("/v1/incidents/<incident_id>/similar")
@requires("read")
def get_similar(incident_id: str):
    incident = known_incident(incident_id)
    return json_response({"incident_id": incident_id, "similar": [
        {**s, "onset": iso(s["onset"]), "family": s["family"].label, "family_id": s["family"].evidence_id}
        for s in similar_for(incident)]})


def postmortem_of(incident: dict[str, Any]) -> str:
    """The postmortem draft of a stored incident (shared with the dashboard)."""
    report = build_report(incident, incident["snapshots"], generator=generator())
    return render_postmortem(incident, report, timeline.timeline_of(incident["id"]),
                             followups.find_followups(0.0, incident_id=incident["id"]),
                             artifacts.list_artifacts(incident["id"]))


@bp.get("/v1/incidents/<incident_id>/postmortem")
@requires("read")
def get_postmortem(incident_id: str):
    body = postmortem_of(known_incident(incident_id))
    return Response(body.encode(), content_type="text/markdown; charset=utf-8",
                    headers={"X-Content-Type-Options": "nosniff"})
