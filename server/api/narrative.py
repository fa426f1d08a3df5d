"""GET /v1/triage/{incident_id}/narrative (scope read): a short prose summary of the report,
beside it and never part of it (its `report_hash` does not cover the narrative)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app

from server.api.triage import HASH_HEADER
from server.auth import requires
from server.errors import NotFound, json_response
from server.narration.lookup import narrative_for
from server.triage.lookup import report_for

bp = Blueprint("narrative", __name__)


@bp.get("/v1/triage/<incident_id>/narrative")
@requires("read")
def get_narrative(incident_id: str):
    report = report_for(incident_id)
    if report is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    narrative = narrative_for(report, current_app.config["ONSET"], time.time())
    return json_response({"incident_id": incident_id, "report_hash": report["report_hash"],
                          "report_summary": report["summary"], "narrative": narrative},
                         headers={HASH_HEADER: report["report_hash"]})
