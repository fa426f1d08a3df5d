"""Services: each one's recent traffic, error rate, when it was last seen, and the sentinel's
verdict on its health. Whether a service has gone silent is the sentinel's call
(`store.health_alerts.service_health`), never the dashboard's: this page only draws it."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template

from dashboard.blueprint import bp
from dashboard.session import signed_in
from server.store import counters, health_alerts

TRAFFIC_SECONDS = 300
WORST_FIRST = {"critical": 0, "unknown": 1, "warning": 2, "ok": 3}


def service_rows(now: float) -> list[dict[str, Any]]:
    """Traffic per (service, env) joined with the sentinel's health, worst health first; a
    service only an active health alert names is listed with no traffic."""
    health = {(h["service"], h["env"]): h
              for h in health_alerts.service_health(now, current_app.config["ONSET"].tick_seconds)}
    rows = {(t["service"], t["env"]): {**t, "health": health.get((t["service"], t["env"]))}
            for t in counters.service_traffic(now - TRAFFIC_SECONDS, now + 1)}
    for key, verdict in health.items():
        rows.setdefault(key, {"service": key[0], "env": key[1], "requests": 0, "errors": 0,
                              "last_seen": verdict.get("last_seen"), "health": verdict})
    return sorted(rows.values(), key=lambda r: (WORST_FIRST.get((r["health"] or {}).get("health"), 4),
                                                r["service"], r["env"]))


@bp.get("/services")
@signed_in()
def services_page():
    return render_template("services.html", services=service_rows(g.now), traffic_seconds=TRAFFIC_SECONDS)
