"""Ready-made plans. `triage`: the report, then what an on-call engineer asks next.

| step | tool | arguments |
|---|---|---|
| 0 | triage_incident | `incident_id` |
| 1 | similar_incidents | `$steps.0.report.incident.id` |
| 2 | blast_radius | the incident's family, from `$steps.0.report.incident.family.*` |
| 3 | explain_request (optional) | `$steps.0.report.where_it_started.sample_traces.0.trace_id` |
| 4 | service_health (optional) | `$steps.0.report.where_it_started.origin.service` |
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.plans.model import Step

_FAMILY = "$steps.0.report.incident.family"


def _incident_id(value: Any) -> str | None:
    if not isinstance(value, str) or not 1 <= len(value) <= 128:
        return "must be an incident id (a string of 1-128 characters)"
    return None


def triage_steps(params: dict[str, Any]) -> tuple[Step, ...]:
    return (
        Step("triage_incident", {"incident_id": params["incident_id"]}),
        Step("similar_incidents", {"incident_id": "$steps.0.report.incident.id"}),
        Step("blast_radius", {name: f"{_FAMILY}.{name}" for name in ("service", "env", "step", "error_code")}),
        Step("explain_request", {"trace_id": "$steps.0.report.where_it_started.sample_traces.0.trace_id"},
             optional=True),
        Step("service_health", {"service": "$steps.0.report.where_it_started.origin.service"}, optional=True),
    )


@dataclass(frozen=True)
class Template:
    description: str
    # Parameter name -> a check returning why a value is bad, or None.
    params: dict[str, Callable[[Any], str | None]]
    steps: Callable[[dict[str, Any]], tuple[Step, ...]]


TEMPLATES: dict[str, Template] = {
    "triage": Template(
        "The triage report of an incident, its similar incidents, its blast radius now, the story of its"
        " first sample trace and the health of its origin service.",
        {"incident_id": _incident_id}, triage_steps),
}
