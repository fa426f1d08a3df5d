"""The weekly digest: what happened in an ISO week, as JSON and as Markdown with the same facts.
Pure: the week's facts in (`store.digests`), one dict out, two renderings of it.

Incidents by service, cause and severity; mean and worst time to detect (onset → opened),
acknowledge (opened → acknowledged) and resolve (onset → resolved); recurring families
(several incidents in the week) and incidents that repeat an earlier one (their similar
past incidents from before the week); follow-ups overdue at the week's end (or now, for the
current week); services the sentinel found silent.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from server.timefmt import duration, iso
from server.triage.render.markdown import code, escape

SCHEMA = "onset.digest.v1"
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")
WEEK_SECONDS = 7 * 86400


def week_bounds(week: str) -> tuple[float, float]:
    """[start, end) in epoch seconds of ISO week `YYYY-Www` (Monday 00:00 UTC on); ValueError otherwise."""
    match = _WEEK.match(week)
    if match is None:
        raise ValueError("must be an ISO week like 2026-W47")
    try:
        monday = date.fromisocalendar(int(match.group(1)), int(match.group(2)), 1)
    except ValueError as exc:
        raise ValueError(f"no such ISO week: {exc}") from None
    start = datetime(monday.year, monday.month, monday.day, tzinfo=UTC).timestamp()
    return start, start + WEEK_SECONDS


def week_of(ts: float) -> str:
    year, number, _ = datetime.fromtimestamp(ts, UTC).isocalendar()
    return f"{year}-W{number:02d}"


def previous_week(ts: float) -> str:
    return week_of((datetime.fromtimestamp(ts, UTC) - timedelta(days=7)).timestamp())


def _times(incidents: Sequence[Mapping[str, Any]], start_key: str, end_key: str,
           resolved_only: bool = False) -> dict[str, Any]:
    spans = sorted(((i[end_key] - i[start_key], i["id"]) for i in incidents
                    if i.get(start_key) is not None and i.get(end_key) is not None
                    and (not resolved_only or i["state"] == "resolved")), key=lambda p: (-p[0], p[1]))
    if not spans:
        return {"count": 0, "mean_seconds": None, "worst_seconds": None, "worst_incident": None}
    return {"count": len(spans), "mean_seconds": round(sum(s for s, _ in spans) / len(spans), 3),
            "worst_seconds": round(spans[0][0], 3), "worst_incident": spans[0][1]}


def _counts(values: Sequence[str | None]) -> dict[str, int]:
    return dict(sorted(Counter(v or "unknown" for v in values).items(), key=lambda p: (-p[1], p[0])))


def build_digest(week: str, start: float, end: float, as_of: float, incidents: Sequence[Mapping[str, Any]],
                 overdue: Sequence[Mapping[str, Any]], silent: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The digest of `week` ([start, end)); `as_of` is when overdue follow-ups are judged."""
    by_family: dict[str, list[str]] = {}
    for inc in incidents:
        for family in inc["families"]:
            by_family.setdefault(family, []).append(inc["id"])
    recurring = [{"family": f, "incidents": ids, "count": len(ids)}
                 for f, ids in sorted(by_family.items(), key=lambda p: (-len(p[1]), p[0])) if len(ids) > 1]
    repeats = []
    for inc in incidents:
        earlier = [s for s in inc.get("similar") or [] if s.get("onset") is not None and s["onset"] < start]
        if earlier:
            best = earlier[0]
            repeats.append({"incident": inc["id"], "similar_to": best["id"], "score": best.get("score"),
                            "reason": best.get("reason") or best.get("match"), "similar_onset": iso(best["onset"])})
    return {
        "schema": SCHEMA, "week": week, "from": iso(start), "to": iso(end), "as_of": iso(as_of),
        "incidents": {
            "total": len(incidents),
            "by_service": _counts([i["service"] for i in incidents]),
            "by_cause": _counts([i["cause"] for i in incidents]),
            "by_severity": _counts([i.get("severity") for i in incidents]),
            "list": [{"id": i["id"], "state": i["state"], "severity": i.get("severity"), "cause": i["cause"],
                      "service": i["service"], "step": i["step"], "error_code": i["error_code"],
                      "title": i.get("title"), "onset": iso(i["onset"])} for i in incidents],
        },
        "times": {"detect": _times(incidents, "onset", "opened_at"),
                  "acknowledge": _times(incidents, "opened_at", "acknowledged_at"),
                  "resolve": _times(incidents, "onset", "resolved_at", resolved_only=True)},
        "recurring_families": recurring,
        "repeats": repeats,
        "overdue_followups": [{"id": f["id"], "incident": f["incident_id"], "service": f["service"],
                               "title": f["title"], "owner": f.get("owner"), "due_at": iso(f["due_at"])}
                              for f in overdue],
        "silent_services": [{"service": s["service"], "env": s["env"], "raised_at": iso(s["raised_at"]),
                             "cleared_at": iso(s.get("cleared_at")), "reason": s["reason"]} for s in silent],
    }


def _took(seconds: float | None) -> str:
    return duration(seconds) if seconds is not None else "—"


def render_markdown(digest: Mapping[str, Any]) -> str:
    """The digest's facts as Markdown (the JSON holds the same, and nothing more)."""
    inc = digest["incidents"]
    out = [f"# Onset digest {digest['week']}", "",
           f"{digest['from']} to {digest['to']} (follow-ups as of {digest['as_of']})", "",
           f"## Incidents: {inc['total']}", ""]
    for label, key in (("By service", "by_service"), ("By cause", "by_cause"), ("By severity", "by_severity")):
        counts = ", ".join(f"{escape(k)} {n}" for k, n in inc[key].items()) or "none"
        out.append(f"- {label}: {counts}")
    out.append("")
    if inc["list"]:
        out += ["| incident | severity | state | cause | what | onset |", "|---|---|---|---|---|---|"]
        for i in inc["list"]:
            what = i["title"] or f"{i['service']} {i['step']} {i['error_code']}"
            out.append(f"| {code(i['id'])} | {i['severity'] or '—'} | {i['state']} | {i['cause']} | {escape(what)}"
                       f" | {i['onset']} |")
        out.append("")
    out += ["## Response times", "", "| | incidents | mean | worst |", "|---|---|---|---|"]
    for label, key in (("Detect (onset → opened)", "detect"), ("Acknowledge (opened → acknowledged)", "acknowledge"),
                       ("Resolve (onset → resolved)", "resolve")):
        t = digest["times"][key]
        worst = f"{_took(t['worst_seconds'])} ({code(t['worst_incident'])})" if t["worst_incident"] else "—"
        out.append(f"| {label} | {t['count']} | {_took(t['mean_seconds'])} | {worst} |")
    out += ["", "## Recurring", ""]
    for r in digest["recurring_families"]:
        out.append(f"- {escape(r['family'])}: {r['count']} incidents ({', '.join(code(i) for i in r['incidents'])})")
    for r in digest["repeats"]:
        score = f", score {r['score']:.2f}" if r.get("score") is not None else ""
        out.append(f"- {code(r['incident'])} repeats {code(r['similar_to'])} of {r['similar_onset']}{score}:"
                   f" {escape(r['reason'] or '')}")
    if not digest["recurring_families"] and not digest["repeats"]:
        out.append("- nothing recurred")
    out += ["", "## Overdue follow-ups", ""]
    out += [f"- {code(f['id'])} {escape(f['title'])} ({escape(f['service'])}, {code(f['incident'])}, owner"
            f" {escape(f['owner'] or 'nobody')}, due {f['due_at']})" for f in digest["overdue_followups"]] or ["- none"]
    out += ["", "## Services that went silent", ""]
    for s in digest["silent_services"]:
        until = f" to {s['cleared_at']}" if s["cleared_at"] else " (still silent)"
        out.append(f"- {escape(s['service'] or '')} ({escape(s['env'] or '')}) from {s['raised_at']}{until}:"
                   f" {escape(s['reason'])}")
    if not digest["silent_services"]:
        out.append("- none")
    return "\n".join(out) + "\n"
