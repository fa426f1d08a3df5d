"""The dashboard blueprint: mounted at /ui, its templates and static files, the hooks every
dashboard request goes through (CSRF check, security headers), template helpers, and the
error pages. The pages themselves are in `dashboard.pages`.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import peewee
from flask import Blueprint, Response, g, request
from flask.sansio.blueprints import BlueprintSetupState
from werkzeug.exceptions import HTTPException

from dashboard import present
from dashboard.session import (
    configure_sessions,
    csrf_token,
    is_fragment_request,
    page_response,
    refuse_forged_requests,
)
from server.errors import ApiError

log = logging.getLogger("onset.dashboard")

# The vendored htmx (npm package htmx.org); the version is in the name so that a cached old
# copy is never taken for a new one. dashboard/README.md says why this line.
HTMX = "htmx-2.0.11.min.js"

# No inline script or style anywhere: scripts and styles come from /ui/static only, and
# htmx is configured (meta htmx-config) not to inject its indicator <style> nor eval.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self';"
       " form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}

bp = Blueprint("dashboard", __name__, url_prefix="/ui", template_folder="templates", static_folder="static")


@bp.record_once
def _setup(state: BlueprintSetupState) -> None:
    configure_sessions(state.app)
    present.register(state.app)


@bp.before_request
def _start() -> Response | None:
    g.now = time.time()
    return refuse_forged_requests()


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "dashboard.static":
        # Pages show incident data: never kept by a shared cache or the back button's disk cache.
        response.headers["Cache-Control"] = "no-store"
    return response


@bp.context_processor
def _helpers() -> dict[str, Any]:
    return {"csrf_token": csrf_token, "htmx_file": HTMX, "signed_in_as": g.get("key"),
            "now": g.get("now") or time.time()}


def _trouble_response(status: int, title: str, message: str) -> Response:
    template = "_trouble.html" if is_fragment_request() else "error.html"
    return page_response(template, status, title=title, message=message, trouble=True)


@bp.errorhandler(peewee.PeeweeException)
def _database_trouble(exc: peewee.PeeweeException) -> Response:
    # Never a blank page: the database being down is itself what the on-call engineer must see.
    log.exception("dashboard: database error")
    return _trouble_response(503, "Database trouble", f"The database did not answer: {type(exc).__name__}: {exc}")


@bp.errorhandler(ApiError)
def _api_error(exc: ApiError) -> Response:
    return page_response("error.html", exc.status, title=exc.message, message=None)


@bp.errorhandler(HTTPException)
def _http_error(exc: HTTPException) -> Response:
    return page_response("error.html", exc.code or 500, title=exc.name, message=exc.description)


@bp.errorhandler(Exception)
def _unexpected(exc: Exception) -> Response:
    log.exception("dashboard: unhandled error")
    return _trouble_response(500, "Internal error", "The server failed to draw this page; see the server log.")
