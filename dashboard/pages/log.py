"""The incident log under an incident's page: the timeline (polled like the list, newest last)
with its form, follow-ups (overdue ones flagged), artifacts (upload, download as attachment)
and the postmortem draft. Writes need a key with the respond scope; every form carries the
CSRF token the blueprint checks. The decisions are the layers' below (`incidentlog`), as
for the API: these views parse the form and call them.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Response, g, redirect, render_template, request, url_for

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.api.artifacts import download_response, store_artifact
from server.api.timeline import postmortem_of
from server.auth import grants
from server.errors import NotFound, PayloadTooLarge
from server.incidentlog.actions import record_entry, require_entry
from server.incidentlog.artifact_types import MAX_ARTIFACT_BYTES
from server.incidentlog.followups import add_followup
from server.store import artifacts, followups, incidents, timeline

REFRESH_SECONDS = 3
# Room for the multipart envelope around a file of the artifact limit.
MAX_UPLOAD_BODY = MAX_ARTIFACT_BYTES + 64 * 1024
ENTRY_FIELDS = ("kind", "body", "to", "severity", "reason")


@bp.url_value_preprocessor
def _cap_uploads(endpoint: str | None, values: dict[str, Any] | None) -> None:
    # Runs before the CSRF check reads the form: a multipart body is refused past the cap
    # instead of being parsed (to memory or temporary files) whatever its size.
    if endpoint == "dashboard.upload_artifact":
        request.max_content_length = MAX_UPLOAD_BODY


def log_context(incident_id: str, now: float) -> dict[str, Any]:
    """What the incident page shows of the log; also the polled fragment's context."""
    return {"entries": timeline.timeline_of(incident_id),
            "followups": followups.find_followups(now, incident_id=incident_id),
            "artifacts": artifacts.list_artifacts(incident_id),
            "can_respond": grants(g.key.scopes, "respond"), "refresh_seconds": REFRESH_SECONDS}


def _known(incident_id: str) -> None:
    if timeline.response_state(incident_id) is None:
        raise NotFound(f"No incident {incident_id}")


def _back(incident_id: str, anchor: str) -> Response:
    return redirect(url_for("dashboard.incident_page", incident_id=incident_id) + f"#{anchor}", 303)


@bp.get("/incidents/<incident_id>/timeline")
@signed_in()
def timeline_fragment(incident_id: str):
    _known(incident_id)
    return render_template("_timeline.html", incident_id=incident_id, **log_context(incident_id, g.now))


@bp.post("/incidents/<incident_id>/timeline")
@signed_in("respond")
def post_timeline_entry(incident_id: str):
    payload = {k: request.form[k].strip() for k in ENTRY_FIELDS if request.form.get(k, "").strip()}
    record_entry(incident_id, require_entry(payload, g.key.name), g.key.key_id, time.time())
    return _back(incident_id, "timeline")


@bp.post("/incidents/<incident_id>/followups")
@signed_in("respond")
def post_followup(incident_id: str):
    payload = {k: request.form[k].strip() for k in ("title", "owner", "due") if request.form.get(k, "").strip()}
    add_followup(incident_id, payload, g.key.name, g.key.key_id, time.time())
    return _back(incident_id, "followups")


@bp.post("/incidents/<incident_id>/artifacts")
@signed_in("respond")
def upload_artifact(incident_id: str):
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return _back(incident_id, "artifacts")
    content = upload.stream.read(MAX_ARTIFACT_BYTES + 1)
    if len(content) > MAX_ARTIFACT_BYTES:
        raise PayloadTooLarge(f"An artifact is at most {MAX_ARTIFACT_BYTES} bytes.")
    store_artifact(incident_id, upload.filename, upload.mimetype, content, g.key.name, g.key.key_id, time.time())
    return _back(incident_id, "artifacts")


@bp.get("/incidents/<incident_id>/artifacts/<artifact_id>")
@signed_in()
def download_artifact_file(incident_id: str, artifact_id: str):
    found = artifacts.get_artifact(incident_id, artifact_id)
    if found is None:
        raise NotFound(f"No artifact {artifact_id}")
    return download_response(*found)


@bp.get("/incidents/<incident_id>/postmortem")
@signed_in()
def postmortem_page(incident_id: str):
    incident = incidents.get_incident(incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}")
    return render_template("postmortem.html", incident=incident, postmortem=postmortem_of(incident))
