"""The agent tools: one name and one description each, shared by the MCP server and plans.

Descriptions are written for a model choosing a tool: what it returns and when to call it.
"""

from __future__ import annotations

TOOLS: dict[str, str] = {
    "list_incidents": (
        "List Onset incidents, newest first, with state, cause, confidence, family (service/env/step/error_code)"
        " and onset. Filter by state (default active) and by service (any of the incident's families). Call"
        " this first to find an incident id."),
    "triage_incident": (
        "Get the deterministic triage.v1 report of one incident: cause with confidence and reasons, where it"
        " started, how bad it is, what changed, alerts, similar incidents, next checks, every claim citing"
        " evidence ids. The first content block is the report JSON exactly as GET /v1/triage/{id} returns it"
        " (same bytes, same report_hash); a second block holds an optional prose narrative that is never part"
        " of the report. Quote the report, not the narrative, for facts."),
    "render_triage_report": (
        "Render an incident's triage report for people: text, markdown, slack (Block Kit JSON) or pagerduty"
        " (a note). Same content and report_hash as triage_incident."),
    "explain_request": (
        "Tell one request's story from its trace id (sample trace ids are in the triage report): its spans"
        " in causal order, which hop failed first and why."),
    "blast_radius": (
        "How bad a failure is right now: failed and total requests, error rate and trend, users, services and"
        " entry points hit, per family. Filter by service, env, step, error_code; window is a duration like"
        " 300, 90s, 15m, 2h (default: the detection window)."),
    "similar_incidents": (
        "Past or open incidents like this one (same failing family, or same origin and cause), as cited in"
        " its triage report: check what fixed them."),
    "service_health": (
        "The sentinel's view per service and env: ok, warning, critical, or unknown when Onset's engine is not"
        " checking; with the reason, when it was last seen, and its active health alerts (silent service,"
        " collapsed rate, late heartbeat). Filter by service."),
    "add_timeline_note": (
        "Add a note to an incident's timeline (what you checked or did, for the people on call). Needs a key"
        " with the respond scope; it changes nothing else."),
}

# Tools that change an incident: offered only to keys that grant `respond`.
RESPOND_TOOLS = frozenset({"add_timeline_note"})
