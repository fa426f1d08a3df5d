"""Instrumentation warnings: what was missing that would have made the triage sharper, each
with its fix. Pure: built from the facts the propagation and blast snapshots recorded."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def _names(services: Sequence[str]) -> str:
    return ", ".join(services)


def _sends(services: Sequence[str]) -> str:
    return "sends" if len(services) == 1 else "send"


def instrumentation_warnings(propagation: Mapping[str, Any], blast: Mapping[str, Any],
                             family_ids: Sequence[str], trace_ids: Sequence[str]) -> list[dict[str, Any]]:
    """`[{code, text, fix, evidence}]` in a fixed order. `family_ids`/`trace_ids` are the
    evidence the warnings cite."""
    facts = propagation.get("instrumentation") or {}
    traces = list(trace_ids) or list(family_ids)
    warnings: list[dict[str, Any]] = []

    def warn(code: str, text: str, fix: str, evidence: Sequence[str]) -> None:
        warnings.append({"code": code, "text": text, "fix": fix, "evidence": list(evidence)})

    if facts.get("trace_ids_missing"):
        warn("no_trace_ids", "the failing events carry no trace ids: where the failure starts cannot be traced",
             "send `trace_id`, `span_id` and `parent_span_id` with each event (onset_sdk's middleware does), or"
             " export OpenTelemetry spans to /v1/traces", family_ids)
    broken, checked = facts.get("broken_traces") or 0, facts.get("traces_checked") or 0
    if broken:
        warn("broken_parent_links", f"{broken} of {checked} sample traces have spans whose parent never arrived",
             "propagate `traceparent` on every call (onset_sdk's requests integration or an OpenTelemetry"
             " propagator) and send spans from every service on the path", traces)
    for silent in facts.get("silent_services") or []:
        service = silent["service"]
        if silent.get("reason") == "drops_trace_context":
            warn("service_drops_trace_context", f"{service} sends events, but not as part of these traces",
                 f"make {service} continue the incoming `traceparent` (onset_sdk's middleware, or an"
                 " OpenTelemetry propagator)", traces)
        else:
            warn("silent_service", f"{service} is called on the failing path but sends nothing to Onset",
                 f"install onset_sdk in {service} (`onset_sdk.init(service=\"{service}\")`) or export its"
                 " OpenTelemetry spans to /v1/traces", traces)
    no_dependency = facts.get("services_without_dependency_events") or []
    if no_dependency:
        names = _names(no_dependency)
        warn("no_dependency_events",
             f"the failure starts inside {names}, but {names} {_sends(no_dependency)} no dependency events:"
             " a failing outgoing call would look the same",
             "record outgoing calls: enable onset_sdk's requests integration, or send events with"
             " `kind: \"dependency\"` and `peer`", traces)
    no_version = facts.get("services_without_version") or []
    if no_version:
        warn("no_version", f"{_names(no_version)} {_sends(no_version)} no service version: a deploy is"
             " recognised only when CI reports it",
             "set `version` in `onset_sdk.init` (or `service.version` in the OpenTelemetry resource), or report"
             " deploys to /v1/deploys", family_ids)
    if blast.get("users") is None and (blast.get("traces_counted") or 0) > 0:
        warn("no_user_ids", "no failing request carries a user id: how many users are hit cannot be counted",
             "name the user of each request: `onset_sdk.set_user_id(...)`, or the `user_id` option of"
             " `onset_sdk.init`", family_ids)
    return warnings
