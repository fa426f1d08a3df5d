"""The report's people part: severity, who is on the incident, who owns the service, and what a
person declared. Pure: the incident as `store.incidents.get_incident` returns it, in; plain
dicts out. Material to `report_hash` (an acknowledgement or a new severity is a new state).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.timefmt import iso


def _http(url: Any) -> str | None:
    # Only http(s) runbooks are shown as links anywhere (no javascript: or data: URLs).
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else None


def severity_of(incident: Mapping[str, Any]) -> dict[str, Any]:
    return {"level": incident.get("severity"), "source": incident.get("severity_source"),
            "reason": incident.get("severity_reason"), "set_by": incident.get("severity_by")}


def response_of(incident: Mapping[str, Any]) -> dict[str, Any]:
    owner = incident.get("owner") or None
    declared = None
    if incident.get("declared_by"):
        detection = ((incident.get("analysis") or {}).get("detection") or {}).get("declared") or {}
        declared = {"by": incident["declared_by"], "title": incident.get("title"), "note": detection.get("note")}
    manual = None
    if incident.get("manual_state") and not declared:
        manual = {"state": incident["manual_state"], "by": incident.get("manual_by"),
                  "at": iso(incident.get("manual_at")), "reason": incident.get("manual_reason"),
                  "applied": incident["manual_state"] == incident.get("state")}
    return {
        "acknowledged_by": incident.get("acknowledged_by"), "acknowledged_at": iso(incident.get("acknowledged_at")),
        "assignee": incident.get("assignee"),
        "owner": {"service": owner.get("name"), "team": owner.get("team"),
                  "runbook_url": _http(owner.get("runbook_url")), "channel": owner.get("channel")} if owner else None,
        "declared": declared, "manual": manual, "follows": incident.get("follows"),
    }


def declared_summary(incident: Mapping[str, Any], response: Mapping[str, Any], requests: Mapping[str, Any],
                     cause_phrase: str, confidence: str) -> str:
    """The summary of an incident declared by hand: who declared what, and where its evidence is from."""
    declared = response["declared"]
    lead = {"resolved": "Resolved: ", "recovering": "Recovering: "}.get(incident["state"], "")
    failing = (f" {requests['failed']} of {requests['total']} requests of {incident['service']} failed in it."
               if requests.get("failed") else f" Nothing of {incident['service']} failed in it.")
    return (f"{lead}Declared by {declared['by']}: {declared['title']}. Evidence is from the service's recent window"
            f" ({iso(incident['onset'])} on).{failing} Likely cause: {cause_phrase} ({confidence} confidence).")
