"""The facts a narration may name, read from a `triage.v1` report. Pure.

Only fields Onset decided or measured count: structured fields (services, steps, error
codes, versions, numbers, times, ids) and the sentences Onset writes itself (summary, cause
reasons, next checks). Free text that senders control (alert annotations and summaries,
signal messages and reasons) is never a source of facts: a prompt injection in an alert
annotation must not be able to make its own words "grounded".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?")
_ISO = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}):(\d{2}):(\d{2})")
_ISO_ANYWHERE = re.compile(r"\d{4}-\d{2}-\d{2}T[\d:.]+Z?")
# Sender-controlled text inside the report: never facts.
_UNTRUSTED_KEYS = frozenset({"summary", "description", "message", "reason", "links", "runbook_url", "details",
                             "status_reason", "text", "fix"})


@dataclass(frozen=True)
class Facts:
    services: frozenset[str]
    steps: frozenset[str]
    error_codes: frozenset[str]
    versions: frozenset[str]
    numbers: frozenset[float]
    dates: frozenset[str]
    times: frozenset[str]  # HH:MM and HH:MM:SS, UTC
    identifiers: frozenset[str]  # incident, trace, signal, alert and evidence ids, commits, names
    dependencies: frozenset[str]  # what a dependency cause may be named by
    cause: str
    confidence: str
    change_types: frozenset[str]

    @property
    def names(self) -> frozenset[str]:
        """Every name a narration may use as an identifier."""
        return self.services | self.steps | self.error_codes | self.versions | self.identifiers | self.dependencies


def _numbers_in(value: Any, key: str = "", skip: frozenset[str] = _UNTRUSTED_KEYS) -> Iterable[float]:
    """Numeric leaves, with the forms a sentence uses: rates as percentages, seconds as
    minutes and hours, offsets without their sign."""
    if isinstance(value, bool):
        return
    if isinstance(value, int | float):
        yield float(value)
        yield abs(float(value))
        if "rate" in key:
            yield float(value) * 100
        if "seconds" in key:
            yield abs(float(value)) / 60
            yield abs(float(value)) / 3600
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k not in skip:
                yield from _numbers_in(v, k, skip)
    elif isinstance(value, list):
        yield len(value)
        for v in value:
            yield from _numbers_in(v, key, skip)


def _times_in(value: Any) -> Iterable[tuple[str, str, str]]:
    if isinstance(value, str):
        match = _ISO.match(value)
        if match:
            date, hh, mm, ss = match.groups()
            yield date, f"{hh}:{mm}", f"{hh}:{mm}:{ss}"
    elif isinstance(value, Mapping):
        for k, v in value.items():
            if k not in _UNTRUSTED_KEYS:
                yield from _times_in(v)
    elif isinstance(value, list):
        for v in value:
            yield from _times_in(v)


def _family_parts(family_id: str) -> tuple[str, str, str, str] | None:
    # family:<service>/<env>/<step>/<code>; a step may hold slashes, the code may not.
    body = family_id.removeprefix("family:")
    service, _, rest = body.partition("/")
    env, _, rest = rest.partition("/")
    step, _, code = rest.rpartition("/")
    return (service, env, step, code) if service and step and code else None


def _trusted_texts(report: Mapping[str, Any]) -> list[str]:
    """The sentences Onset writes: they may restate numbers ("2m before the onset")."""
    texts = [report.get("summary") or ""]
    texts += [r.get("text") or "" for r in (report.get("cause") or {}).get("reasons") or []]
    texts += [c.get("text") or "" for c in report.get("next_checks") or []]
    return texts


def facts_of(report: Mapping[str, Any]) -> Facts:
    """The facts of `report` (a triage.v1 report as `build_report` returns it)."""
    services, steps, codes, versions, ids, deps = set(), set(), set(), set(), set(), set()
    incident = report.get("incident") or {}
    family = incident.get("family") or {}
    services.add(family.get("service"))
    steps.add(family.get("step"))
    codes.add(family.get("error_code"))
    ids.add(incident.get("id"))
    for family_id in incident.get("families") or []:
        ids.add(family_id)
        parts = _family_parts(family_id)
        if parts:
            services.add(parts[0])
            steps.add(parts[2])
            codes.add(parts[3])

    where = report.get("where_it_started") or {}
    origin = where.get("origin") or {}
    services.add(origin.get("service"))
    steps.add(origin.get("step"))
    codes.add(origin.get("error_code"))
    deps.add(origin.get("via"))
    for hop in where.get("path") or []:
        services.update((hop.get("service"), hop.get("peer")))
        steps.add(hop.get("step"))
        codes.add(hop.get("error_code"))
    codes.add((where.get("exception") or {}).get("type"))
    ids.update(s.get("trace_id") for s in where.get("sample_traces") or [])

    how_bad = report.get("how_bad") or {}
    services.update(s.get("service") for s in how_bad.get("services") or [])
    for entry in [*(how_bad.get("entry_points") or []), *(how_bad.get("by_family") or [])]:
        services.add(entry.get("service"))
        steps.add(entry.get("step"))
        codes.add(entry.get("error_code"))
    ids.update(how_bad.get("sample_traces") or [])

    change_types = set()
    for item in (report.get("what_changed") or {}).get("items") or []:
        change_types.add(item.get("type"))
        services.add(item.get("service"))
        ids.add(item.get("id"))
        details = item.get("details") or {}
        versions.add(details.get("version"))
        ids.update((details.get("commit"), (details.get("commit") or "")[:12] or None, details.get("author")))
        if item.get("type") == "dependency":
            deps.update((details.get("dependency"), item.get("service")))
    for alert in (report.get("alerts") or {}).get("items") or []:
        # An alert's name and service are its labels: facts. Its annotations are not.
        services.add(alert.get("service"))
        ids.update((alert.get("id"), alert.get("name")))
    for past in (report.get("similar_incidents") or {}).get("items") or []:
        ids.update((past.get("id"), past.get("evidence")))
    ids.update(e.get("id") for e in report.get("evidence") or [])

    numbers = set(_numbers_in(report))
    for text in _trusted_texts(report):
        # Not the digits of the times it quotes: "22:13:25" does not make 25 a number of the report.
        numbers.update(float(n) for n in _NUMBER.findall(_ISO_ANYWHERE.sub(" ", text)))
    found_times = list(_times_in(report))
    cause = report.get("cause") or {}
    deps.discard(None)
    return Facts(
        services=frozenset(s for s in services if s), steps=frozenset(s for s in steps if s),
        error_codes=frozenset(c for c in codes if c), versions=frozenset(v for v in versions if v),
        numbers=frozenset(numbers), dates=frozenset(t[0] for t in found_times),
        times=frozenset(t for found in found_times for t in found[1:]),
        identifiers=frozenset(i for i in ids if i), dependencies=frozenset(deps),
        cause=cause.get("kind") or "unknown", confidence=cause.get("confidence") or "low",
        change_types=frozenset(t for t in change_types if t),
    )
