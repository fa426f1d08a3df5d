"""The sentinel's findings: GET /v1/health/alerts[/{id}], GET /v1/health/services (read);
safe actions: GET /v1/health/actions (read), PUT/DELETE /v1/health/actions/{key} (admin),
POST /v1/health/alerts/{id}/action (respond, with `{"confirm": true}`)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, g, request

from server.api.channels import masked_url
from server.api.ingest import json_payload, limit_arg
from server.api.notifications import present_notification
from server.auth import requires
from server.errors import ApiError, NotFound, ValidationFailed, json_response
from server.notify.content import present_health_alert
from server.sentinel.actions import Asker, action_spec, run_action
from server.sentinel.model import ACTIVE, CLEARED
from server.store import health_actions, health_alerts, notifications
from server.store.health_actions import HealthAction
from server.timefmt import iso

bp = Blueprint("health_alerts", __name__)

STATES = (ACTIVE, CLEARED, "all")


def present_action(action: HealthAction) -> dict[str, Any]:
    return {"key": action.key, "label": action.label, "url": masked_url(action.url),
            "secret_set": bool(action.secret), "updated_at": iso(action.updated_at)}


@bp.get("/v1/health/alerts")
@requires("read")
def list_alerts():
    state = request.args.get("state", ACTIVE)
    if state not in STATES:
        raise ValidationFailed("bad state", {"state": [f"must be one of {', '.join(STATES)}"]})
    rows = health_alerts.list_health_alerts(None if state == "all" else state, time.time(),
                                            key=request.args.get("key"), service=request.args.get("service"),
                                            limit=limit_arg())
    return json_response({"health_alerts": [present_health_alert(a) for a in rows]})


def _alert_or_404(alert_id: str) -> dict[str, Any]:
    alert = health_alerts.get_health_alert(alert_id, time.time())
    if alert is None:
        raise NotFound(f"no health alert {alert_id}", {"alert_id": ["unknown"]})
    return alert


@bp.get("/v1/health/alerts/<alert_id>")
@requires("read")
def get_alert(alert_id: str):
    alert = _alert_or_404(alert_id)
    action = health_actions.get_action(alert["key"])
    return json_response({
        **present_health_alert(alert),
        "action": present_action(action) if action else None,
        "action_runs": [{**r, "at": iso(r["at"])} for r in health_actions.runs_for(alert_id)],
        "notifications": [present_notification(n) for n in notifications.notifications_for(alert_id)],
    })


@bp.post("/v1/health/alerts/<alert_id>/action")
@requires("respond")
def trigger_action(alert_id: str):
    payload = json_payload()
    if not isinstance(payload, dict) or payload.get("confirm") is not True:
        raise ValidationFailed("a safe action runs only when confirmed", {"confirm": ["must be true"]})
    alert = _alert_or_404(alert_id)
    action = health_actions.get_action(alert["key"])
    if action is None:
        raise NotFound(f"no action is configured for {alert['key']}", {"key": ["no action configured"]})
    if alert["state"] != ACTIVE:
        raise ApiError(f"{alert_id} is cleared; its action runs only while it is active",
                       {"alert_id": ["cleared"]}, status=409, code="conflict")
    settings = current_app.config["ONSET"]
    run = run_action(action, alert, Asker(g.key.name, g.key.key_id), time.time(), settings.notify_timeout_seconds)
    return json_response(run)


@bp.get("/v1/health/services")
@requires("read")
def services():
    now = time.time()
    rows = health_alerts.service_health(now, current_app.config["ONSET"].tick_seconds)
    return json_response({"services": [present_service(s) for s in rows]})


def present_service(service: dict[str, Any]) -> dict[str, Any]:
    """One row of `store.health_alerts.service_health` as the API shows it (REST and agent plans)."""
    return {**service, "last_seen": iso(service["last_seen"]),
            "alerts": [present_health_alert(a) for a in service["alerts"]]}


@bp.get("/v1/health/actions")
@requires("read")
def list_actions():
    return json_response({"actions": [present_action(a) for a in health_actions.list_actions()]})


@bp.put("/v1/health/actions/<key>")
@requires("admin")
def set_action(key: str):
    spec = action_spec(key, json_payload())
    action = health_actions.set_action(key, spec["label"], spec["url"], spec["secret"], time.time())
    return json_response(present_action(action))


@bp.delete("/v1/health/actions/<key>")
@requires("admin")
def remove_action(key: str):
    if not health_actions.remove_action(key):
        raise NotFound(f"no action for {key}", {"key": ["no action configured"]})
    return json_response({"removed": key})
