"""POST /v1/alerts (the sender told from the body), POST /v1/alerts/{source}
(alertmanager, grafana, pagerduty, onset); GET /v1/alerts.

Every transient condition here answers 503 + Retry-After, never 429: Alertmanager treats
every 4xx as final and would drop the alert.
"""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, g, request

from server import metrics
from server.api.ingest import limit_arg
from server.api.overload import answer_transient_trouble_with_503
from server.auth import authenticate, key_from_request, requires
from server.errors import NotFound, Unauthorized, ValidationFailed, json_response
from server.ingest.alerts import SOURCES, detect_source, ingest_alerts
from server.ingest.alerts.signatures import grafana_signature_ok, pagerduty_signature_ok
from server.ingest.body import parse_json, read_body
from server.store import alerts as alert_store
from server.timefmt import iso

bp = Blueprint("alerts", __name__)
answer_transient_trouble_with_503(bp, never_429=True)

PAGERDUTY_HEADER = "X-PagerDuty-Signature"
# Grafana's code and its UI name the signature header differently; the UI's is read too.
GRAFANA_UI_HEADER = "X-Grafana-Alerting-Signature"
_TIMES = ("starts_at", "ends_at", "first_received_at", "last_received_at", "resolved_at", "attached_at")


def present_alert(alert: dict[str, Any]) -> dict[str, Any]:
    """The API shape of a stored alert: RFC 3339 times."""
    return {**alert, **{name: iso(alert[name]) for name in _TIMES if name in alert}}


def _raw_body() -> bytes:
    # Signatures cover the bytes as sent, so the body is read before any JSON parsing.
    settings = current_app.config["ONSET"]
    return read_body(request.stream, request.headers.get("Content-Encoding"), settings.max_body_bytes)


def _check_signature(source: str, body: bytes) -> None:
    """401 unless a PagerDuty or Grafana payload carries the signature its secret asks for."""
    settings = current_app.config["ONSET"]
    secret = settings.pagerduty_webhook_secret
    signature = request.headers.get(PAGERDUTY_HEADER)
    if source == "pagerduty" and secret and not pagerduty_signature_ok(body, signature, secret):
        raise Unauthorized(f"{PAGERDUTY_HEADER} is missing or does not match ONSET_PAGERDUTY_WEBHOOK_SECRET",
                           {PAGERDUTY_HEADER: ["missing or not matching"]})
    if source == "grafana" and settings.grafana_webhook_secret:
        header = settings.grafana_signature_header
        signature = request.headers.get(header) or request.headers.get(GRAFANA_UI_HEADER)
        stamp_header = settings.grafana_timestamp_header
        stamp = request.headers.get(stamp_header) if stamp_header else None
        if not grafana_signature_ok(body, signature, stamp, settings.grafana_webhook_secret,
                                    timestamp_required=bool(stamp_header)):
            raise Unauthorized(f"{header} is missing or does not match ONSET_GRAFANA_WEBHOOK_SECRET",
                               {header: ["missing or not matching"]})


def _accept(source: str | None, body: bytes):
    if source is not None:
        _check_signature(source, body)
    payload = parse_json(body)
    if source is None:
        source = detect_source(payload)
        _check_signature(source, body)
    result = ingest_alerts(payload, source, current_app.config["ONSET"], time.time())
    metrics.ingested("alerts", result["accepted"], len(result["rejected"]))
    return json_response(result)


@bp.post("/v1/alerts")
@requires("ingest", basic=True)
def post_alerts():
    return _accept(None, _raw_body())


@bp.post("/v1/alerts/<source>")
@requires("ingest", basic=True)
def post_alerts_from(source: str):
    if source not in SOURCES:
        raise NotFound(f"unknown alert source {source!r}", {"source": [f"must be one of {', '.join(SOURCES)}"]})
    return _accept(source, _raw_body())


@bp.post("/v1/alerts/pagerduty")
def post_pagerduty():
    # PagerDuty signs its webhooks: with the secret set, a matching signature is required and
    # is enough. Without it, the subscription sends the key in a custom header like any sender.
    if not current_app.config["ONSET"].pagerduty_webhook_secret:
        g.key = authenticate("ingest", key_from_request(basic=True), basic=True)
    return _accept("pagerduty", _raw_body())


post_pagerduty.required_scope = "ingest"  # type: ignore[attr-defined]


@bp.get("/v1/alerts")
@requires("read")
def list_alerts():
    status = request.args.get("status", "all")
    if status not in (*alert_store.STATUSES, "all"):
        raise ValidationFailed("bad status", {"status": [f"must be one of {', '.join((*alert_store.STATUSES, 'all'))}"]})
    source = request.args.get("source")
    if source is not None and source not in SOURCES:
        raise ValidationFailed("bad source", {"source": [f"must be one of {', '.join(SOURCES)}"]})
    rows = alert_store.list_alerts(None if status == "all" else status, service=request.args.get("service"),
                                   source=source, limit=limit_arg())
    return json_response({"alerts": [present_alert(a) for a in rows]})
