"""GET /v1/triage/{incident_id} (the report as canonical JSON) and .../report?format=..."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request

from server.auth import requires
from server.errors import NotFound, ValidationFailed
from server.triage.canonical import canonical_json
from server.triage.lookup import report_for
from server.triage.render import FORMATS, render

bp = Blueprint("triage", __name__)

HASH_HEADER = "X-Onset-Report-Hash"


def _report(incident_id: str) -> dict[str, Any]:
    report = report_for(incident_id)
    if report is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    return report


@bp.get("/v1/triage/<incident_id>")
@requires("read")
def get_triage(incident_id: str):
    # Canonical bytes: `onset triage --json` prints them as they are, and anyone can check
    # report_hash by dropping the volatile fields and hashing the same way.
    report = _report(incident_id)
    return Response(canonical_json(report), mimetype="application/json",
                    headers={HASH_HEADER: report["report_hash"]})


@bp.get("/v1/triage/<incident_id>/report")
@requires("read")
def get_triage_report(incident_id: str):
    fmt = request.args.get("format", "text")
    if fmt not in FORMATS:
        raise ValidationFailed("bad format", {"format": [f"must be one of {', '.join(FORMATS)}"]})
    report = _report(incident_id)
    body, content_type = render(report, fmt)
    return Response(body, content_type=content_type, headers={HASH_HEADER: report["report_hash"]})
