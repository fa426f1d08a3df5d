"""GET /livez (the process answers) and /readyz (it can do its job)."""

from __future__ import annotations

import time

from flask import Blueprint, current_app

from server.auth import public
from server.errors import json_response
from server.health import readiness

bp = Blueprint("health", __name__)


@bp.get("/livez")
@public
def livez():
    return json_response({"status": "ok"})


@bp.get("/readyz")
@public
def readyz():
    report = readiness(current_app.config["ONSET"], time.time())
    return json_response(report, 200 if report["ready"] else 503)
