"""Follow-ups and the release gate: POST/GET /v1/incidents/{id}/followups, GET /v1/followups,
PATCH /v1/followups/{id}, GET /v1/gate?service=S."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g, request

from server.api.ingest import json_payload, limit_arg
from server.auth import requires
from server.errors import NotFound, ValidationFailed, json_response
from server.incidentlog.followups import add_followup, change_followup
from server.incidentlog.gate import gate
from server.store import followups, incidents, timeline
from server.store.followups import STATUSES
from server.timefmt import iso

bp = Blueprint("followups", __name__)

_TIMES = ("due_at", "created_at", "closed_at")


def present_followup(f: dict[str, Any]) -> dict[str, Any]:
    return {**f, **{name: iso(f.get(name)) for name in _TIMES}}


def _flag(name: str) -> bool:
    value = request.args.get(name, "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise ValidationFailed(f"bad {name}", {name: ["must be true or false"]})
    return value in ("true", "1")


@bp.post("/v1/incidents/<incident_id>/followups")
@requires("respond")
def post_followup(incident_id: str):
    created = add_followup(incident_id, json_payload(), g.key.name, g.key.key_id, time.time())
    return json_response(present_followup(created), 201)


@bp.get("/v1/incidents/<incident_id>/followups")
@requires("read")
def incident_followups(incident_id: str):
    if timeline.response_state(incident_id) is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    found = followups.find_followups(time.time(), incident_id=incident_id)
    return json_response({"followups": [present_followup(f) for f in found]})


@bp.get("/v1/followups")
@requires("read")
def list_followups():
    status = request.args.get("status")
    if status is not None and status not in STATUSES:
        raise ValidationFailed("bad status", {"status": [f"must be one of {', '.join(STATUSES)}"]})
    found = followups.find_followups(time.time(), service=request.args.get("service") or None, status=status,
                                     overdue=_flag("overdue"), limit=limit_arg(500, 5000))
    return json_response({"followups": [present_followup(f) for f in found]})


@bp.patch("/v1/followups/<followup_id>")
@requires("respond")
def patch_followup(followup_id: str):
    changed = change_followup(followup_id, json_payload(), g.key.name, g.key.key_id, time.time())
    return json_response(present_followup(changed))


@bp.get("/v1/gate")
@requires("read")
def get_gate():
    service = (request.args.get("service") or "").strip()
    if not service:
        raise ValidationFailed("name the service", {"service": ["required"]})
    now = time.time()
    found = incidents.find_incidents(("active", "recovering"), service=service, limit=1000)
    overdue = followups.find_followups(now, service=service, overdue=True)
    verdict = gate(service, found, overdue, due_text=iso)
    return json_response({**verdict.as_dict(), "checked_at": iso(now)})
