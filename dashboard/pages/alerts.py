"""Alerts as Alertmanager, Grafana, PagerDuty and Onset's own format sent them, newest first."""

from __future__ import annotations

from flask import render_template, request

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.ingest.alerts import SOURCES
from server.store import alerts

LIMIT = 200


@bp.get("/alerts")
@signed_in()
def alerts_page():
    status = request.args.get("status") if request.args.get("status") in alerts.STATUSES else None
    source = request.args.get("source") if request.args.get("source") in SOURCES else None
    service = (request.args.get("service") or "").strip()[:200] or None
    rows = alerts.list_alerts(status, service=service, source=source, limit=LIMIT)
    return render_template("alerts.html", alerts=rows, status=status, source=source, service=service,
                           statuses=alerts.STATUSES, sources=SOURCES, limit=LIMIT)
