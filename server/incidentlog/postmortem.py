"""A postmortem draft in Markdown. Pure and deterministic: the same incident state gives the
same bytes (no clock, no request time; every list in a fixed order).

Sections: summary, impact (from the blast evidence), detection (time to detect, acknowledge
and resolve), timeline, cause with its cited evidence, what went well / badly (headings
for people to fill), follow-ups, artifacts.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from server.timefmt import duration, iso
from server.triage.render import phrases
from server.triage.render.markdown import code, escape

TO_FILL = "_To fill in._"


def detection_times(incident: Mapping[str, Any]) -> dict[str, float | None]:
    """Seconds: to detect (onset → opened), to acknowledge (opened → acknowledged), to resolve
    (onset → resolved); None where it has not happened."""
    onset, opened = incident["onset"], incident.get("opened_at")
    acked, resolved = incident.get("acknowledged_at"), incident.get("resolved_at")
    return {
        "detect": opened - onset if opened is not None else None,
        "acknowledge": acked - opened if acked is not None and opened is not None else None,
        "resolve": resolved - onset if resolved is not None and incident.get("state") == "resolved" else None,
    }


def _cell(text: Any) -> str:
    return escape(str(text)) if text not in (None, "") else "—"


def _took(seconds: float | None) -> str:
    return duration(seconds) if seconds is not None else "—"


def _summary(report: Mapping[str, Any], incident: Mapping[str, Any]) -> list[str]:
    severity, response = report["severity"], report["response"]
    lines = ["## Summary", "", escape(report["summary"]), ""]
    if severity.get("level"):
        how = f"set by {severity['set_by']}" if severity.get("source") == "manual" else "derived"
        lines.append(f"- **Severity:** {severity['level']} ({escape(how)}: {escape(severity.get('reason') or '')})")
    lines.append(f"- **State:** {incident['state']}" + (
        f" ({escape(response['manual']['state'])} by {escape(response['manual']['by'] or '')}:"
        f" {escape(response['manual']['reason'] or 'no reason given')})" if response.get("manual") else ""))
    owner = response.get("owner") or {}
    if owner:
        facts = [f"team {escape(owner['team'])}" if owner.get("team") else None,
                 f"channel {escape(owner['channel'])}" if owner.get("channel") else None,
                 f"[runbook](<{owner['runbook_url']}>)" if owner.get("runbook_url") else None]
        lines.append(f"- **Owner:** {escape(owner['service'])}: " + ", ".join(f for f in facts if f))
    lines.append(f"- **Acknowledged by:** {_cell(response.get('acknowledged_by'))}"
                 f" · **Assigned to:** {_cell(response.get('assignee'))}")
    if response.get("follows"):
        lines.append(f"- **Follows:** {code(response['follows'])}, resolved by hand before this failure came back")
    lines.append(f"- **Incident:** {code(report['incident']['id'])}, cause {report['cause']['kind']}"
                 f" ({report['cause']['confidence']} confidence), report_hash {code(report['report_hash'])}")
    return [*lines, ""]


def _impact(report: Mapping[str, Any]) -> list[str]:
    how = report["how_bad"]
    lines = ["## Impact", ""]
    if how.get("status") != "ok":
        lines += [f"_{escape(phrases.status_note(how) or '')}_", ""]
    lines.append(f"- {escape(phrases.impact_line(how))}")
    for label, text in (("Services hit", phrases.services_line(how)), ("Entry points", phrases.entry_points_line(how))):
        if text:
            lines.append(f"- {label}: {escape(text)}")
    if how.get("at_opening"):
        opening = how["at_opening"]
        lines.append(f"- At opening: {opening['failed']} of {opening['total']} requests failed"
                     f" ({phrases.percent(opening.get('error_rate'))})")
    for fam in how.get("by_family") or []:
        lines.append(f"- {escape(fam['service'])} {escape(fam['step'])} {code(fam['error_code'])}: {fam['failed']}"
                     f" of {fam['total']} failed")
    return [*lines, ""]


def _detection(incident: Mapping[str, Any]) -> list[str]:
    took = detection_times(incident)
    onset = incident["onset"]

    def row(what: str, ts: float | None) -> str:
        after = _took(ts - onset) if ts is not None else "—"
        return f"| {what} | {iso(ts) or '—'} | {after} |"

    resolved = incident.get("resolved_at") if incident.get("state") == "resolved" else None
    return ["## Detection", "", "| | when (UTC) | after the onset |", "|---|---|---|",
            row("Onset", onset), row("Detected (incident opened)", incident.get("opened_at")),
            row("Acknowledged", incident.get("acknowledged_at")), row("Resolved", resolved), "",
            f"- Time to detect: {_took(took['detect'])} (onset → opened)",
            f"- Time to acknowledge: {_took(took['acknowledge'])} (opened → acknowledged)",
            f"- Time to resolve: {_took(took['resolve'])} (onset → resolved)", ""]


def _timeline(entries: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Timeline", "", "| time (UTC) | who | what |", "|---|---|---|"]
    lines += [f"| {iso(e['ts'])} | {_cell(e['author'])} | {_cell(e['kind'])}: {_cell(e['body'])} |" for e in entries]
    return [*lines, ""]


def _cause(report: Mapping[str, Any]) -> list[str]:
    cause = report["cause"]
    lines = ["## Cause", "", f"**{cause['kind']}** ({cause['confidence']} confidence)", ""]
    lines += [f"- {escape(r['text'])} — {', '.join(code(e) for e in r['evidence'])}" for r in cause["reasons"]]
    cited = {e for r in cause["reasons"] for e in r["evidence"]}
    cited |= set(report["where_it_started"].get("evidence") or [])
    evidence = [e for e in report["evidence"] if e["id"] in cited]
    if evidence:
        lines += ["", "### Cited evidence", ""]
        lines += [f"- {code(e['id'])}: {escape(e['summary'])}" + (f" ({e['time']})" if e.get("time") else "")
                  for e in evidence]
    if report["similar_incidents"]["items"]:
        lines += ["", "### Similar past incidents", ""]
        lines += [f"- {escape(phrases.similar_line(s))}" for s in report["similar_incidents"]["items"]]
    return [*lines, ""]


def _followups(followups: Sequence[Mapping[str, Any]]) -> list[str]:
    lines = ["## Follow-ups", ""]
    for f in followups:
        box = "x" if f["status"] == "done" else " "
        facts = [f"owner {escape(f['owner'])}" if f.get("owner") else None,
                 f"due {f['due_date']}" if f.get("due_date") else None]
        extra = ", ".join(x for x in facts if x)
        lines.append(f"- [{box}] {escape(f['title'])}{f' ({extra})' if extra else ''} {code(f['id'])}")
    if not followups:
        lines.append(TO_FILL)
    return [*lines, ""]


def _artifacts(artifacts: Sequence[Mapping[str, Any]]) -> list[str]:
    if not artifacts:
        return []
    lines = ["## Artifacts", ""]
    lines += [f"- {escape(a['name'])} ({a['content_type']}, {a['size']} bytes, by {escape(a['author'])}, sha256"
              f" {code(a['sha256'])})" for a in artifacts]
    return [*lines, ""]


def render_postmortem(incident: Mapping[str, Any], report: Mapping[str, Any], entries: Sequence[Mapping[str, Any]],
                      followups: Sequence[Mapping[str, Any]], artifacts: Sequence[Mapping[str, Any]]) -> str:
    """`incident` as `store.incidents.get_incident` returns it; `report` its triage.v1 report;
    `entries` its timeline (oldest first); `followups` and `artifacts` as the store lists them."""
    title = report["response"]["declared"]["title"] if report["response"].get("declared") else \
        f"{incident['service']} {incident['step']} {incident['error_code']}"
    out = [f"# Postmortem: {escape(title)}", "",
           f"_A draft Onset wrote from {code(incident['id'])}'s record: the facts are filled in, the judgement is"
           " yours. Edit freely._", ""]
    out += _summary(report, incident) + _impact(report) + _detection(incident) + _timeline(entries)
    out += _cause(report)
    out += ["## What went well", "", TO_FILL, "", "## What went badly", "", TO_FILL, "",
            "## Where we got lucky", "", TO_FILL, ""]
    out += _followups(sorted(followups, key=lambda f: (f["created_at"], f["id"])))
    out += _artifacts(sorted(artifacts, key=lambda a: (a["created_at"], a["id"])))
    return "\n".join(out).rstrip("\n") + "\n"
