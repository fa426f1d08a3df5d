"""GET /v1/traces/{trace_id}: one request's story."""

from __future__ import annotations

from flask import Blueprint

from server.auth import requires
from server.errors import NotFound, ValidationFailed, json_response
from server.evidence.story import story_of
from server.ingest.events import ID_PATTERN

bp = Blueprint("traces", __name__)


@bp.get("/v1/traces/<trace_id>")
@requires("read")
def get_trace(trace_id: str):
    if not ID_PATTERN.match(trace_id):
        raise ValidationFailed("bad trace id", {"trace_id": ["must be 1-64 characters of [0-9A-Za-z_.:-]"]})
    story = story_of(trace_id)
    if story is None:
        raise NotFound(f"no event of trace {trace_id} was found: traces with a failing event, and recent ones,"
                       " can be found", {"trace_id": ["unknown"]})
    return json_response(story)
