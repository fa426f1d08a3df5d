"""Artifacts: POST/GET /v1/incidents/{id}/artifacts, GET /v1/incidents/{id}/artifacts/{artifact_id}.

An upload is the raw file as the body (`?name=` names it). The 2 MB limit holds while the
body is read: a declared larger Content-Length is refused before a byte is read, and a body
without one is read at most 2 MB + 1 bytes. The type is told from the content. A download is
always an attachment with `nosniff` and a sandboxing CSP: never rendered as HTML.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any
from urllib.parse import quote

from flask import Blueprint, Response, g, request

from server.auth import requires
from server.errors import NotFound, PayloadTooLarge, UnsupportedMediaType, ValidationFailed, json_response
from server.incidentlog.artifact_types import MAX_ARTIFACT_BYTES, check_artifact, safe_name
from server.ingest.body import read_capped
from server.store import artifacts, timeline
from server.store.timeline import PERSON, TimelineEntry
from server.timefmt import iso

bp = Blueprint("artifacts", __name__)

DOWNLOAD_HEADERS = {"X-Content-Type-Options": "nosniff", "Content-Security-Policy": "default-src 'none'; sandbox",
                    "Cache-Control": "no-store"}


def present_artifact(a: dict[str, Any]) -> dict[str, Any]:
    return {**a, "created_at": iso(a["created_at"]),
            "download": f"/v1/incidents/{quote(a['incident_id'], safe='')}/artifacts/{a['id']}"}


def _known(incident_id: str) -> None:
    if timeline.response_state(incident_id) is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})


def read_upload(max_bytes: int = MAX_ARTIFACT_BYTES) -> bytes:
    """The request body, refused (413) beyond `max_bytes` without ever holding more than that."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise PayloadTooLarge(f"an artifact is at most {max_bytes} bytes", {"body": [f"larger than {max_bytes} bytes"]})
    encoding = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if encoding not in ("", "identity"):
        raise UnsupportedMediaType("send the file as it is, without Content-Encoding",
                                   {"Content-Encoding": ["use identity"]})
    return read_capped(request.stream, max_bytes)


def download_response(artifact: dict[str, Any], content: bytes) -> Response:
    """The file as an attachment; shared with the dashboard's download link."""
    ascii_name = artifact["name"].encode("ascii", "replace").decode().replace("?", "_").replace('"', "_")
    disposition = f"attachment; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(artifact['name'], safe='')}"
    return Response(content, content_type=f"{artifact['content_type']}; charset=utf-8",
                    headers={**DOWNLOAD_HEADERS, "Content-Disposition": disposition,
                             "X-Onset-SHA256": artifact["sha256"]})


def store_artifact(incident_id: str, name: str | None, declared_type: str | None, content: bytes, author: str,
                   key_id: str | None, now: float) -> dict[str, Any]:
    """Check and keep an uploaded file (shared with the dashboard's upload form)."""
    _known(incident_id)
    clean = safe_name(name)
    if clean is None:
        raise ValidationFailed("name the file", {"name": ["required: ?name=FILE.md"]})
    checked = check_artifact(clean, declared_type, content)
    if checked.content_type is None:
        raise UnsupportedMediaType(checked.problem or "not an allowed file", {"body": [checked.problem or "refused"]})
    sha256 = hashlib.sha256(content).hexdigest()
    entry = TimelineEntry(incident_id, now, "artifact", author, PERSON,
                          f"{clean} attached ({checked.content_type}, {len(content)} bytes)",
                          {"name": clean, "sha256": sha256, "size": len(content), "content_type": checked.content_type},
                          key_id)
    return artifacts.add_artifact(incident_id, clean, checked.content_type, content, sha256, author, entry, now)


@bp.post("/v1/incidents/<incident_id>/artifacts")
@requires("respond")
def post_artifact(incident_id: str):
    _known(incident_id)
    content = read_upload()
    author = (request.args.get("author") or "").strip()[:200] or g.key.name
    saved = store_artifact(incident_id, request.args.get("name"), request.content_type, content, author,
                           g.key.key_id, time.time())
    return json_response(present_artifact(saved), 201)


@bp.get("/v1/incidents/<incident_id>/artifacts")
@requires("read")
def list_artifacts(incident_id: str):
    _known(incident_id)
    return json_response({"artifacts": [present_artifact(a) for a in artifacts.list_artifacts(incident_id)]})


@bp.get("/v1/incidents/<incident_id>/artifacts/<artifact_id>")
@requires("read")
def download_artifact(incident_id: str, artifact_id: str):
    found = artifacts.get_artifact(incident_id, artifact_id)
    if found is None:
        raise NotFound(f"no artifact {artifact_id} on {incident_id}", {"artifact_id": ["unknown"]})
    return download_response(*found)
