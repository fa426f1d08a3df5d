"""The report as an outline of titled sections of lines: what every renderer shows, in order.

Renderers differ in markup, escaping and limits, not in content: each one walks this
outline. Lines are plain text; `evidence` holds the ids a line cites, `link` an http(s)
URL the line may link to.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from server.timefmt import duration
from server.triage import measurement
from server.triage.render import phrases


@dataclass(frozen=True)
class Line:
    text: str
    evidence: tuple[str, ...] = ()
    link: str | None = None


@dataclass
class Section:
    key: str
    title: str
    note: str | None = None
    lines: list[Line] = field(default_factory=list)
    left_out: int = 0
    left_out_what: str = "items"
    numbered: bool = False


def _safe_link(url: Any) -> str | None:
    # Only http(s) links are ever rendered as links (no javascript: or data: URLs).
    return url if isinstance(url, str) and url.lower().startswith(("http://", "https://")) else None


def _cause(report: Mapping[str, Any]) -> Section:
    cause = report["cause"]
    section = Section("cause", phrases.SECTION_TITLES["cause"], lines=[Line(phrases.cause_line(cause))])
    section.lines += [Line(r["text"], tuple(r["evidence"])) for r in cause["reasons"]]
    return section


def _where(report: Mapping[str, Any]) -> Section:
    where = report["where_it_started"]
    section = Section("where_it_started", phrases.SECTION_TITLES["where_it_started"], phrases.status_note(where))
    origin = phrases.origin_line(where)
    section.lines.append(Line(f"origin: {origin}" if origin else "origin: unknown"))
    for label, text in (("path", phrases.path_line(where)), ("traces", phrases.traces_line(where))):
        if text:
            section.lines.append(Line(f"{label}: {text}"))
    exception = where.get("exception")
    if exception:
        message = f": {exception['message']}" if exception.get("message") else ""
        section.lines.append(Line(f"exception: {exception['type']}{message}"))
    for sample in where.get("sample_traces") or []:
        section.lines.append(Line(f"sample trace {sample['trace_id']}" + (f": {sample['summary']}" if sample.get("summary")
                                                                          else ""),
                                  (f"trace:{sample['trace_id']}",)))
    return section


def _how_bad(report: Mapping[str, Any]) -> Section:
    how_bad = report["how_bad"]
    section = Section("how_bad", phrases.SECTION_TITLES["how_bad"], phrases.status_note(how_bad))
    section.lines.append(Line(phrases.impact_line(how_bad), tuple(report["incident"]["families"])))
    for label, text in (("services", phrases.services_line(how_bad)),
                        ("entry points", phrases.entry_points_line(how_bad))):
        if text:
            section.lines.append(Line(f"{label}: {text}"))
    opening = how_bad.get("at_opening")
    if opening:
        section.lines.append(Line(f"at opening: {opening['failed']} of {opening['total']} requests failed"
                                  f" ({phrases.percent(opening.get('error_rate'))})"))
    if len(how_bad.get("by_family") or []) > 1:
        for fam in how_bad["by_family"]:
            section.lines.append(Line(f"{fam['service']} {fam['step']} {fam['error_code']}: {fam['failed']} of"
                                      f" {fam['total']} failed", (fam["id"],)))
    return section


def _what_changed(report: Mapping[str, Any]) -> Section:
    changed = report["what_changed"]
    section = Section("what_changed", phrases.SECTION_TITLES["what_changed"], phrases.status_note(changed),
                      left_out=changed.get("items_left_out", 0), left_out_what="changes")
    for item in changed["items"]:
        section.lines.append(Line(phrases.change_line(item), (item["id"],),
                                  _safe_link((item.get("details") or {}).get("pr_url"))))
    if not changed["items"] and changed["status"] != "missing":
        lookback = changed.get("lookback_seconds")
        within = f" in the {duration(lookback)} before the onset" if lookback else ""
        section.lines.append(Line(f"no deploys, dependency, runtime or config signals of the services involved{within}"))
    return section


def _alerts(report: Mapping[str, Any]) -> Section:
    alerts = report["alerts"]
    section = Section("alerts", phrases.SECTION_TITLES["alerts"], phrases.status_note(alerts),
                      left_out=alerts.get("items_left_out", 0), left_out_what="alerts")
    section.lines += [Line(a.get("summary") or a["id"], (a["id"],)) for a in alerts["items"]]
    if not alerts["items"] and alerts["status"] == "ok":
        section.lines.append(Line("none attached"))
    return section


def _similar(report: Mapping[str, Any]) -> Section:
    similar = report["similar_incidents"]
    section = Section("similar_incidents", phrases.SECTION_TITLES["similar_incidents"], phrases.status_note(similar),
                      left_out=similar.get("items_left_out", 0), left_out_what="incidents")
    section.lines += [Line(phrases.similar_line(s), (s["evidence"],)) for s in similar["items"]]
    if not similar["items"] and similar["status"] == "ok":
        section.lines.append(Line("none: no earlier incident of the same family, or with the same origin and cause"))
    return section


def _response(report: Mapping[str, Any]) -> Section:
    section = Section("response", "Who is on it")
    severity = phrases.severity_line(report.get("severity") or {})
    if severity:
        section.lines.append(Line(severity))
    section.lines += [Line(text, (), _safe_link(link)) for text, link in phrases.response_lines(report["response"])]
    return section


def outline(report: Mapping[str, Any]) -> list[Section]:
    """Every section of the report, in reading order; empty instrumentation is left out."""
    people = [_response(report)] if report.get("response") else []
    sections = [Section("summary", "Summary", lines=[Line(report["summary"])]), *people, _cause(report), _where(report),
                _how_bad(report), _what_changed(report), _alerts(report), _similar(report)]
    if report.get("measurement"):
        sections.insert(1, Section("measurement", measurement.TITLE,
                                   lines=[Line(text) for text in measurement.lines(report["measurement"])]))
    sections.append(Section("next_checks", phrases.SECTION_TITLES["next_checks"], numbered=True,
                            lines=[Line(c["text"], tuple(c["evidence"])) for c in report["next_checks"]]))
    if report["instrumentation"]:
        sections.append(Section("instrumentation", phrases.SECTION_TITLES["instrumentation"], lines=[
            Line(f"{w['text']}. Fix: {w['fix']}", tuple(w["evidence"])) for w in report["instrumentation"]]))
    sections.append(Section("evidence", f"{phrases.SECTION_TITLES['evidence']} ({len(report['evidence'])} items)",
                            lines=[Line(f"{e['id']}: {e['summary']}" + (f" ({e['time']})" if e.get("time") else ""))
                                   for e in report["evidence"]], left_out_what="evidence items"))
    return sections
