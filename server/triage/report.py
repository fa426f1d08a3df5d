"""The triage report `triage.v1`: incident + evidence snapshots in, one report dict out.

Pure: no database, clock or network. The cause, its reasons and the engine's next checks
are the engine's stored decisions; this module arranges them with the evidence, adds the
checks the evidence makes specific (the exception, a past incident), the instrumentation
warnings, the flat evidence list and the hashes. The shape is `docs/triage.v1.schema.json`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.engine.model import Family
from server.evidence.items import change_summary, evidence_items
from server.evidence.snapshot import MISSING
from server.evidence.stored import StoredSnapshot, current_snapshots, stored_snapshot
from server.timefmt import iso
from server.triage.canonical import evidence_fingerprint, report_hash
from server.triage.instrumentation import instrumentation_warnings
from server.triage.measurement import headline as measured_headline
from server.triage.measurement import measurement_of
from server.triage.response import declared_summary, response_of, severity_of

SCHEMA = "triage.v1"


def _status(snap: StoredSnapshot) -> dict[str, Any]:
    return {"status": snap.content.get("status", MISSING), "status_reason": snap.content.get("status_reason")}


def _incident(incident: Mapping[str, Any], families: list[Family]) -> dict[str, Any]:
    return {
        "id": incident["id"], "state": incident["state"],
        "family": {k: incident[k] for k in ("service", "env", "step", "error_code")},
        "families": [f.evidence_id for f in families],
        "onset": iso(incident["onset"]),
    }


def _where(snap: StoredSnapshot, analysis: Mapping[str, Any], family_id: str) -> dict[str, Any]:
    content = snap.content
    origin = content.get("origin")
    path = content.get("path") or []
    source = content.get("path_source")
    engine = analysis.get("origin") or {}
    if origin is None and snap.phase is None and engine.get("service"):
        # Stored before propagation evidence existed: the engine's own origin still stands.
        origin = {k: engine.get(k) for k in ("service", "step", "via", "error_code")}
        path, source = [{**p, "status": "error"} for p in engine.get("path") or []], "engine"
    samples = content.get("sample_traces") or [{"trace_id": t, "ts": None, "summary": None}
                                                for t in analysis.get("sample_traces") or []]
    first = content.get("first_failure_ts", engine.get("first_failure_ts"))
    return {
        **_status(snap), "origin": origin, "path": path, "path_left_out": content.get("path_left_out", 0),
        "path_source": source,
        "traces_seen": content.get("traces_seen", engine.get("traces_seen", 0)),
        "traces_agreeing": content.get("traces_agreeing", engine.get("traces_agreeing", 0)),
        "first_failure": iso(first), "exception": content.get("exception"),
        "sample_traces": [{"trace_id": s["trace_id"], "time": iso(s.get("ts")), "summary": s.get("summary")}
                          for s in samples],
        "evidence": [f"trace:{s['trace_id']}" for s in samples] or [family_id],
    }


def _how_bad(snap: StoredSnapshot, opening: StoredSnapshot, family_ids: list[str]) -> dict[str, Any]:
    content = snap.content
    at_opening = None
    if opening.phase is not None and opening.content.get("requests"):
        requests = opening.content["requests"]
        at_opening = {**requests, "error_rate": opening.content.get("error_rate")}
    samples = [s["trace_id"] for s in content.get("sample_traces") or []]
    return {
        **_status(snap),
        "requests": content.get("requests") or {"failed": 0, "total": 0},
        "error_rate": content.get("error_rate"), "trend": content.get("trend"), "users": content.get("users"),
        "services": content.get("services") or [], "services_left_out": content.get("services_left_out", 0),
        "entry_points": content.get("entry_points") or [],
        "entry_points_left_out": content.get("entry_points_left_out", 0),
        "by_family": [{**{k: v for k, v in f.items() if k != "first_error_ts"},
                       "first_error": iso(f.get("first_error_ts"))} for f in content.get("by_family") or []],
        "by_family_left_out": content.get("by_family_left_out", 0),
        "sample_traces": samples, "at_opening": at_opening,
        "evidence": [*family_ids, *(f"trace:{t}" for t in samples)],
    }


def _what_changed(snap: StoredSnapshot) -> dict[str, Any]:
    content = snap.content
    items = []
    for item in content.get("items") or []:
        entry = {
            "id": item["id"], "type": item["type"], "service": item["service"], "env": item.get("env"),
            "source": item.get("source"), "time": iso(item["ts"]), "offset_seconds": item.get("offset_seconds"),
            "relation": item.get("relation"), "role": item.get("role"), "summary": change_summary(item),
            "reason": item.get("reason"), "message": item.get("message"), "details": item.get("details") or {},
        }
        if "error_rates" in item:
            entry["error_rates"] = item["error_rates"]  # volatile: see triage.canonical
        items.append(entry)
    return {**_status(snap), "lookback_seconds": content.get("lookback_seconds"), "items": items,
            "items_left_out": content.get("items_left_out", 0)}


def _alerts(snap: StoredSnapshot) -> dict[str, Any]:
    return {**_status(snap), "items": snap.content.get("items") or [],
            "items_left_out": snap.content.get("items_left_out", 0)}


def _similar(snap: StoredSnapshot) -> dict[str, Any]:
    items = [{"id": s["id"], "state": s.get("state"), "onset": iso(s.get("onset")), "cause": s.get("cause"),
              "confidence": s.get("confidence"), "family": s.get("family"), "match": s.get("match"),
              "score": s.get("score"), "reason": s.get("reason"),
              "evidence": f"incident:{s['id']}"} for s in snap.content.get("items") or []]
    return {**_status(snap), "items": items, "items_left_out": snap.content.get("items_left_out", 0)}


def _extra_checks(cause: str, where: Mapping[str, Any], similar: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Checks the evidence makes specific beyond the engine's: the exception, a past incident."""
    checks = []
    exception, origin = where.get("exception"), where.get("origin") or {}
    if exception and cause in ("app", "unknown", "runtime") and origin.get("service"):
        message = f" (\"{exception['message']}\")" if exception.get("message") else ""
        checks.append({"text": f"Find where {exception['type']}{message} is raised in {origin['service']}"
                               f" {origin.get('step')}; its stack trace is in the sample traces",
                       "evidence": where["evidence"][:2]})
    if similar["items"]:
        past = similar["items"][0]
        match = {"same_family": "the same failing family", "similar_message": "a similar error message"}.get(
            past["match"], "the same origin and cause")
        if past["state"] in ("active", "recovering"):
            text = f"{past['id']} ({match}) is still {past['state']}: work the two together"
        else:
            text = (f"{past['id']} had {match} (cause {past['cause']}, onset {past['onset']}): check what fixed it"
                    " then and whether that fix was undone")
        checks.append({"text": text, "evidence": [past["evidence"]]})
    return checks


def _cause_phrase(cause: Mapping[str, Any], where: Mapping[str, Any], changed: Mapping[str, Any]) -> str:
    suspect = next((i for i in changed["items"] if i["id"] == cause.get("suspect")), None)
    origin = where.get("origin") or {}
    kind = cause["kind"]
    if kind == "deploy" and suspect:
        version = suspect["details"].get("version")
        return f"the deploy of {suspect['service']}{f' {version}' if version else ''}"
    if kind == "dependency":
        name = origin.get("via") or (suspect["details"].get("dependency") if suspect else None) or "a dependency"
        return f"failing calls to {name}"
    if kind == "runtime" and suspect:
        return f"{suspect['service']} {suspect.get('reason') or 'crashing'}"
    if kind == "app":
        return f"a failure inside {origin.get('service')} {origin.get('step')}"
    return "not determined yet"


def _summary(incident: Mapping[str, Any], cause: Mapping[str, Any], where: Mapping[str, Any],
             how_bad: Mapping[str, Any], changed: Mapping[str, Any]) -> str:
    lead = {"resolved": "Resolved: ", "recovering": "Recovering: "}.get(incident["state"], "")
    requests = how_bad["requests"]
    scale = ""
    if requests["total"]:
        scale = (f": {requests['failed']} of {requests['total']} requests failed"
                 f" ({(how_bad['error_rate'] or 0) * 100:.1f}%)")
    elif requests["failed"]:
        scale = f": {requests['failed']} requests failed"
    return (f"{lead}{incident['service']} {incident['step']} failing with {incident['error_code']}{scale} since"
            f" {iso(incident['onset'])}; likely cause: {_cause_phrase(cause, where, changed)}"
            f" ({cause['confidence']} confidence).")


def build_report(incident: Mapping[str, Any], snapshots: Mapping[tuple[str, str], Mapping[str, Any]],
                 *, generator: str = "onset") -> dict[str, Any]:
    """The report of `incident` (as `store.incidents.get_incident` returns it) from its stored
    `snapshots` ((kind, phase) -> snapshot with `captured_at`). `generator` names the software
    in the provenance. Kinds missing from `snapshots` render as status `missing`."""
    analysis = incident.get("analysis") or {}
    current = current_snapshots(snapshots)
    families = [Family(f["service"], f["env"], f["step"], f["error_code"]) for f in incident.get("families") or []]
    primary = Family(incident["service"], incident["env"], incident["step"], incident["error_code"])
    if primary not in families:
        families.insert(0, primary)
    family_ids = [f.evidence_id for f in families]

    stored_cause = analysis.get("cause") or {}
    cause = {"kind": incident["cause"], "confidence": incident["confidence"],
             "reasons": [{"text": r["text"], "evidence": list(r["evidence"])} for r in stored_cause.get("reasons") or []],
             "suspect": stored_cause.get("suspect"), "runner_up": stored_cause.get("runner_up")}
    where = _where(current["propagation"], analysis, primary.evidence_id)
    how_bad = _how_bad(current["blast"], stored_snapshot(snapshots, "blast", ("opening",)), family_ids)
    changed = _what_changed(current["change"])
    similar = _similar(current["similar"])
    checks = [{"text": c["text"], "evidence": list(c["evidence"])} for c in analysis.get("next_checks") or []]
    checks += _extra_checks(cause["kind"], where, similar)
    evidence = evidence_items(incident, current)

    captured = [s.captured_at for s in current.values() if s.captured_at is not None]
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "incident": _incident(incident, families),
        "summary": _summary(incident, cause, where, how_bad, changed),
        "severity": severity_of(incident),
        "response": response_of(incident),
        "cause": cause,
        "where_it_started": where,
        "how_bad": how_bad,
        "what_changed": changed,
        "alerts": _alerts(current["alerts"]),
        "similar_incidents": similar,
        "next_checks": checks,
        "instrumentation": instrumentation_warnings(current["propagation"].content, current["blast"].content,
                                                    family_ids, where["evidence"]),
        "evidence": evidence,
        "evidence_fingerprint": evidence_fingerprint(e["id"] for e in evidence),
        # Not the request time: the newest stored state the report reflects, so that reading
        # the same state twice gives the same bytes.
        "generated_at": iso(max([incident.get("updated_at") or incident["onset"], *captured])),
        "provenance": {
            "generator": generator,
            "opened_at": iso(incident.get("opened_at")), "updated_at": iso(incident.get("updated_at")),
            "recovering_since": iso(incident.get("recovering_since")), "resolved_at": iso(incident.get("resolved_at")),
            "snapshots": {kind: {"phase": s.phase, "captured_at": iso(s.captured_at)} for kind, s in current.items()},
        },
    }
    measured = measurement_of(incident)
    if measured is not None:
        # A latency or traffic incident: its report says what was measured, and its summary
        # leads with that rather than with failed requests.
        report["measurement"] = measured
        lead = {"resolved": "Resolved: ", "recovering": "Recovering: "}.get(incident["state"], "")
        report["summary"] = (f"{lead}{measured_headline(measured)} since {iso(incident['onset'])}; likely cause:"
                             f" {_cause_phrase(cause, where, changed)} ({cause['confidence']} confidence).")
    if report["response"]["declared"]:
        report["summary"] = declared_summary(incident, report["response"], how_bad["requests"],
                                             _cause_phrase(cause, where, changed), cause["confidence"])
    report["report_hash"] = report_hash(report)
    return report
