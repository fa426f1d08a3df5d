"""GET /v1/notifications (scope read): the outbox, newest first, each with every attempt."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request

from server.api.ingest import limit_arg
from server.auth import requires
from server.errors import ValidationFailed, json_response
from server.notify.model import STATES
from server.store import notifications
from server.timefmt import iso

bp = Blueprint("notifications", __name__)

_TIMES = ("event_at", "created_at", "next_attempt_at", "delivered_at", "failed_at")


def present_notification(row: dict[str, Any]) -> dict[str, Any]:
    body = {k: v for k, v in row.items() if k != "attempt_log"}
    body.update({name: iso(row[name]) for name in _TIMES})
    if row["state"] in ("delivered", "failed"):
        body["next_attempt_at"] = None
    body["attempt_log"] = [{**a, "started_at": iso(a["started_at"])} for a in row["attempt_log"]]
    return body


@bp.get("/v1/notifications")
@requires("read")
def list_notifications():
    state = request.args.get("state", "all")
    if state not in (*STATES, "all"):
        raise ValidationFailed("bad state", {"state": [f"must be one of {', '.join((*STATES, 'all'))}"]})
    rows = notifications.list_notifications(
        state=None if state == "all" else state,
        subject_id=request.args.get("incident") or request.args.get("subject"),
        channel_id=request.args.get("channel"), limit=limit_arg())
    return json_response({"notifications": [present_notification(r) for r in rows]})
