"""GET /v1/digests/{week}: the week's digest as JSON (default) or Markdown (`?format=markdown`)."""

from __future__ import annotations

import time

from flask import Blueprint, Response, request

from server.auth import requires
from server.errors import ValidationFailed
from server.incidentlog.digest import render_markdown
from server.incidentlog.weekly import digest_json, digest_of

bp = Blueprint("digests", __name__)


@bp.get("/v1/digests/<week>")
@requires("read")
def get_digest(week: str):
    fmt = request.args.get("format", "json")
    if fmt not in ("json", "markdown"):
        raise ValidationFailed("bad format", {"format": ["must be json or markdown"]})
    try:
        digest = digest_of(week, time.time())
    except ValueError as exc:
        raise ValidationFailed("bad week", {"week": [str(exc)]}) from None
    if fmt == "markdown":
        return Response(render_markdown(digest).encode(), content_type="text/markdown; charset=utf-8")
    return Response(digest_json(digest), mimetype="application/json")
