"""The incident's flat `evidence[]`: every item its snapshots hold, one entry per evidence id.

Each entry is `{kind, id, summary, time, source}`. The order is stable: by kind (families,
traces, deploys, dependency, runtime and config signals, alerts, incidents), then time
(none last), then id; never by storage order. Ids: `family:<service>/<env>/<step>/<code>`,
`trace:<trace_id>`, signal ids (`sig_...`), `alert:<id>`, `incident:<id>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from server.engine.model import Family
from server.evidence.stored import StoredSnapshot
from server.timefmt import iso, relative_to_onset

KIND_ORDER = ("family", "trace", "deploy", "dependency", "runtime", "config", "alert", "incident")


def _families(incident: Mapping[str, Any]) -> list[Family]:
    listed = [Family(f["service"], f["env"], f["step"], f["error_code"]) for f in incident.get("families") or []]
    primary = Family(incident["service"], incident["env"], incident["step"], incident["error_code"])
    return listed if primary in listed else [primary, *listed]


def change_summary(item: Mapping[str, Any]) -> str:
    """One line for a change item of the change snapshot."""
    details = item.get("details") or {}
    when = relative_to_onset(item.get("offset_seconds") or 0.0)
    if item["type"] == "deploy":
        facts = [f"commit {details['commit'][:12]}" if details.get("commit") else None,
                 f"by {details['author']}" if details.get("author") else None,
                 "seen in traffic" if details.get("auto") else None]
        extra = ", ".join(f for f in facts if f)
        version = f" {details['version']}" if details.get("version") else ""
        return f"deploy of {item['service']}{version}{f' ({extra})' if extra else ''}, {when}"
    what = item.get("reason") or item.get("message") or "no reason given"
    if item["type"] == "dependency":
        return f"dependency trouble: {details.get('dependency') or item['service']}: {what}, {when}"
    if item["type"] == "runtime":
        kind = details.get("exception_type")
        return f"{item['service']} {what}{f' ({kind})' if kind and kind not in what else ''}, {when}"
    return f"{item['type']} change of {item['service']}: {what}, {when}"


def evidence_items(incident: Mapping[str, Any], current: Mapping[str, StoredSnapshot]) -> list[dict[str, Any]]:
    """`incident` as `store.incidents.get_incident` returns it; `current` from
    `evidence.stored.current_snapshots`."""
    found: dict[str, dict[str, Any]] = {}

    def add(kind: str, evidence_id: str, summary: str, ts: float | None, source: str) -> None:
        if evidence_id not in found:
            found[evidence_id] = {"kind": kind, "id": evidence_id, "summary": summary, "time": ts, "source": source}
        elif found[evidence_id]["time"] is None and ts is not None:
            found[evidence_id]["time"] = ts

    blast = current["blast"].content if "blast" in current else {}
    firsts = {f["id"]: f.get("first_error_ts") for f in blast.get("by_family") or []}
    primary = Family(incident["service"], incident["env"], incident["step"], incident["error_code"])
    for family in _families(incident):
        role = "the incident's first family" if family == primary else "same incident"
        add("family", family.evidence_id,
            f"{family.service} {family.step} failing with {family.error_code} in {family.env} ({role})",
            firsts.get(family.evidence_id) or (incident["onset"] if family == primary else None), "events")

    propagation = current["propagation"].content if "propagation" in current else {}
    for sample in propagation.get("sample_traces") or []:
        add("trace", f"trace:{sample['trace_id']}", f"failing request: {sample.get('summary')}", sample.get("ts"),
            "events")
    for sample in blast.get("sample_traces") or []:
        add("trace", f"trace:{sample['trace_id']}", "one of the earliest failing requests since the onset",
            sample.get("ts"), "events")
    # The engine cites sample traces it saw; a snapshot from before this one may not list them.
    for trace_id in (incident.get("analysis") or {}).get("sample_traces") or []:
        add("trace", f"trace:{trace_id}", "failing request the engine voted on", None, "events")

    change = current["change"].content if "change" in current else {}
    for item in change.get("items") or []:
        add(item["type"] if item["type"] in KIND_ORDER else "config", item["id"], change_summary(item), item["ts"],
            item.get("source") or "signals")

    alerts = current["alerts"].content if "alerts" in current else {}
    for alert in alerts.get("items") or []:
        add("alert", alert["id"], alert.get("summary") or alert["id"], alert.get("ts"), alert.get("source") or "alerts")

    similar = current["similar"].content if "similar" in current else {}
    for past in similar.get("items") or []:
        match = "same family" if past.get("match") == "same_family" else "same origin and cause"
        add("incident", f"incident:{past['id']}",
            f"past incident {past['id']} ({match}; {past.get('state')}, cause {past.get('cause')})",
            past.get("onset"), "onset")

    ordered = sorted(found.values(), key=lambda e: (KIND_ORDER.index(e["kind"]), e["time"] is None,
                                                    e["time"] or 0.0, e["id"]))
    return [{**e, "time": iso(e["time"])} for e in ordered]
