"""GET /openapi.json: the OpenAPI document of the REST API (scope read).

The document is not secret, but every route except liveness and readiness needs a key:
one rule is easier to hold than exceptions to it, and a reader of the API has a read key.
"""

from __future__ import annotations

from flask import Blueprint, current_app

from server.auth import requires
from server.errors import json_response
from server.openapi import openapi_document
from server.triage.lookup import generator

bp = Blueprint("openapi", __name__)

_CACHE = "onset.openapi"


@bp.get("/openapi.json")
@requires("read")
def get_openapi():
    document = current_app.extensions.get(_CACHE)
    if document is None:
        version = generator().removeprefix("onset").strip() or "0"
        document = current_app.extensions[_CACHE] = openapi_document(current_app, version)
    return json_response(document)
