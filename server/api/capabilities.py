"""GET /v1/capabilities (scope read): what this server can do and what the calling key may do."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, g

from server.auth import requires
from server.capabilities import capabilities
from server.errors import json_response

bp = Blueprint("capabilities", __name__)


@bp.get("/v1/capabilities")
@requires("read")
def get_capabilities():
    return json_response(capabilities(current_app.config["ONSET"], g.key, time.time()))
