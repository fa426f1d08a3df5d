"""Phrases every renderer shares: the same facts read the same in the terminal, Markdown,
Slack, PagerDuty and HTML. Plain strings; each renderer escapes them for its format."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from server.timefmt import duration

SECTION_TITLES = {
    "cause": "Cause",
    "where_it_started": "Where did it start?",
    "how_bad": "How bad is it?",
    "what_changed": "What changed?",
    "alerts": "Alerts",
    "similar_incidents": "Similar past incidents",
    "next_checks": "Next checks",
    "instrumentation": "Instrumentation warnings",
    "evidence": "Evidence",
}


def percent(rate: float | None) -> str:
    return "n/a" if rate is None else f"{rate * 100:.1f}%"


def status_note(section: Mapping[str, Any]) -> str | None:
    """`partial: <why>` / `missing: <why>`; None when the capture is complete."""
    if section.get("status", "ok") == "ok":
        return None
    return f"{section['status']}: {section.get('status_reason') or 'no reason recorded'}"


def headline(report: Mapping[str, Any]) -> str:
    inc = report["incident"]
    fam = inc["family"]
    severity = (report.get("severity") or {}).get("level")
    return (f"{inc['id']} {inc['state']}{f' {severity}' if severity else ''}: {fam['service']} {fam['step']}"
            f" {fam['error_code']} ({fam['env']})")


def severity_line(severity: Mapping[str, Any]) -> str | None:
    """`severity P1 (derived: error rate 100.0% reaches P1 ...)` / `(set by alice: ...)`."""
    if not severity.get("level"):
        return None
    how = f"set by {severity.get('set_by') or 'hand'}" if severity.get("source") == "manual" else "derived"
    return f"severity {severity['level']} ({how}: {severity.get('reason') or 'no reason given'})"


def response_lines(response: Mapping[str, Any]) -> list[tuple[str, str | None]]:
    """Who is on it, as (text, http(s) link or None): acknowledged, assignee, owner and runbook,
    declared, a person's decision on the state, the incident this one follows."""
    lines: list[tuple[str, str | None]] = []
    declared = response.get("declared")
    if declared:
        lines.append((f"declared by {declared['by']}: {declared.get('title')}", None))
        if declared.get("note"):
            lines.append((declared["note"], None))
    ack = response.get("acknowledged_by")
    lines.append((f"acknowledged by {ack} at {response.get('acknowledged_at')}" if ack else "not acknowledged yet",
                  None))
    lines.append((f"assigned to {response['assignee']}" if response.get("assignee") else "nobody assigned", None))
    owner = response.get("owner")
    if owner:
        facts = [f"team {owner['team']}" if owner.get("team") else "no team named",
                 f"channel {owner['channel']}" if owner.get("channel") else None]
        lines.append((f"owner of {owner['service']}: " + ", ".join(f for f in facts if f), None))
        if owner.get("runbook_url"):
            lines.append((f"runbook: {owner['runbook_url']}", owner["runbook_url"]))
    else:
        lines.append(("owner unknown: no catalog entry for the service (onset services set)", None))
    manual = response.get("manual")
    if manual:
        what = "resolved by hand" if manual["state"] == "resolved" else "reopened"
        pending = "" if manual.get("applied") else " (the engine applies it at its next tick)"
        lines.append((f"{what} by {manual.get('by')}: {manual.get('reason') or 'no reason given'}{pending}", None))
    if response.get("follows"):
        lines.append((f"follows {response['follows']}: resolved by hand before this failure came back", None))
    return lines


def cause_line(cause: Mapping[str, Any]) -> str:
    return f"{cause['kind']} ({cause['confidence']} confidence)"


def origin_line(where: Mapping[str, Any]) -> str | None:
    origin = where.get("origin")
    if not origin or not origin.get("service"):
        return None
    via = f" via {origin['via']}" if origin.get("via") else ""
    code = f" ({origin['error_code']})" if origin.get("error_code") else ""
    return f"{origin['service']} {origin['step']}{via}{code}"


def path_line(where: Mapping[str, Any]) -> str | None:
    steps = where.get("path") or []
    if not steps:
        return None
    parts = []
    for index, step in enumerate(steps):
        mark = " ✗" if step.get("status") == "error" else ""
        if step.get("kind") == "dependency":
            after = steps[index + 1] if index + 1 < len(steps) else None
            if after is not None and after.get("kind") == "request" and after.get("service") == step.get("peer"):
                continue  # the call is told by the callee's own request that follows
            parts.append(f"{step.get('peer') or step['step']}{mark}")
        else:
            parts.append(f"{step['service']} {step['step']}{mark}")
    return " → ".join(parts) + left_out_suffix(where.get("path_left_out", 0), "steps in the middle")


def traces_line(where: Mapping[str, Any]) -> str | None:
    if not where.get("traces_seen"):
        return None
    return f"{where['traces_agreeing']} of {where['traces_seen']} failing traces agree"


def impact_line(how_bad: Mapping[str, Any]) -> str:
    requests = how_bad.get("requests") or {}
    parts = [f"{requests.get('failed', 0)} of {requests.get('total', 0)} requests failed"
             f" ({percent(how_bad.get('error_rate'))})"]
    trend = how_bad.get("trend")
    if trend:
        parts.append(f"trend {trend['direction']} ({trend['current']['failed']} failed in the last"
                     f" {duration(trend['window_seconds'])}, {trend['previous']['failed']} in the one before)")
    users = how_bad.get("users")
    parts.append("users unknown" if users is None else f"{users} users")
    return "; ".join(parts)


def services_line(how_bad: Mapping[str, Any]) -> str | None:
    services = how_bad.get("services") or []
    if not services:
        return None
    text = ", ".join(f"{s['service']} ({s['failing_traces']} traces)" for s in services)
    return text + left_out_suffix(how_bad.get("services_left_out", 0), "more")


def entry_points_line(how_bad: Mapping[str, Any]) -> str | None:
    entries = how_bad.get("entry_points") or []
    if not entries:
        return None
    text = ", ".join(f"{e['service']} {e['step']} ({e['traces']})" for e in entries)
    return text + left_out_suffix(how_bad.get("entry_points_left_out", 0), "more")


def change_line(item: Mapping[str, Any]) -> str:
    role = {"suspect": "SUSPECT: ", "runner_up": "also suspect: "}.get(item.get("role") or "", "")
    extra = ""
    pr = (item.get("details") or {}).get("pr_url")
    if pr:
        extra = f" PR {pr}"
    rates = item.get("error_rates")
    if rates and rates["before"]["total"] + rates["after"]["total"]:
        extra += (f"; error rate {percent(rates['before']['error_rate'])} before,"
                  f" {percent(rates['after']['error_rate'])} after")
    return f"{role}{item['summary']}{extra}"


MATCHES = {"same_family": "same family", "same_origin_and_cause": "same origin and cause",
           "similar_message": "similar error messages"}


def similar_line(item: Mapping[str, Any]) -> str:
    why = (f"score {item['score']:.2f}: {item['reason']}" if item.get("reason") and item.get("score") is not None
           else MATCHES.get(item.get("match") or "", "same origin and cause"))
    return f"{item['id']}: {item['family']}, {item['state']}, cause {item['cause']}, onset {item['onset']} ({why})"


def left_out_suffix(n: int, what: str) -> str:
    return f" … and {n} {what} left out" if n else ""


def left_out_line(n: int, what: str) -> str:
    return f"… {n} more {what} left out" if n else ""


def cited(ids: Sequence[str]) -> str:
    return ", ".join(ids)


def hash_lines(report: Mapping[str, Any]) -> list[str]:
    return [f"report_hash {report['report_hash']}", f"evidence_fingerprint {report['evidence_fingerprint']}"]
