"""One incident: its triage report section by section, the causal path and the errors around
the onset drawn on the server, alerts with their links, the Markdown to copy."""

from __future__ import annotations

from typing import Any

from flask import current_app, g, render_template

from dashboard.blueprint import bp
from dashboard.charts import bar_chart, path_nodes, window_edges
from dashboard.pages.log import log_context
from dashboard.session import signed_in
from server.engine.model import Family
from server.errors import NotFound
from server.store import counters, incidents
from server.store.alerts import alerts_for_incident
from server.triage.lookup import generator
from server.triage.render import markdown
from server.triage.report import build_report


def errors_around_onset(incident: dict[str, Any], now: float) -> dict[str, Any]:
    """The incident's first family's errors per detection window, from before the onset on."""
    settings = current_app.config["ONSET"]
    family = Family(incident["service"], incident["env"], incident["step"], incident["error_code"])
    until = incident.get("resolved_at") or now
    edges = window_edges(incident["onset"], settings.window_seconds, settings.bucket_seconds, until)
    counts = counters.family_errors_by_window(family, edges)
    return {"chart": bar_chart(counts, edges, incident["onset"]), "family": family,
            "window_seconds": settings.window_seconds, "total": sum(counts)}


@bp.get("/incidents/<incident_id>")
@signed_in()
def incident_page(incident_id: str):
    incident = incidents.get_incident(incident_id)
    if incident is None:
        raise NotFound(f"No incident {incident_id}")
    report = build_report(incident, incident["snapshots"], generator=generator())
    evidence_anchors = {e["id"]: f"ev-{n}" for n, e in enumerate(report["evidence"], 1)}
    return render_template(
        "incident.html", incident=incident, report=report, alerts=alerts_for_incident(incident_id),
        path=path_nodes(report["where_it_started"]), errors=errors_around_onset(incident, g.now),
        report_markdown=markdown.render(report), evidence_anchors=evidence_anchors,
        **log_context(incident_id, g.now),  # timeline, follow-ups, artifacts
    )
