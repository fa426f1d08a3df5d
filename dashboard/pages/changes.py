"""Changes: deploys and other signals, newest first, and versions first seen in traffic."""

from __future__ import annotations

from flask import render_template, request

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.ingest.signals import SIGNAL_TYPES
from server.store import signals

LIMIT = 200


@bp.get("/changes")
@signed_in()
def changes_page():
    kind = request.args.get("type") if request.args.get("type") in SIGNAL_TYPES else None
    service = (request.args.get("service") or "").strip()[:200] or None
    return render_template("changes.html", signals=signals.recent_signals(type=kind, service=service, limit=LIMIT),
                           versions=signals.recent_versions(), services=signals.signal_services(), types=SIGNAL_TYPES,
                           kind=kind, service=service, limit=LIMIT)
