"""The OpenAPI 3 document of the REST API, generated with apispec from the marshmallow
schemas that validate the requests (so the document cannot drift from the validation).

Every route of the app is in it: `OPERATIONS` describes each endpoint (summary, scope,
parameters, body); a route missing there still appears, with its path parameters, the scope
its view requires, the first line of the view's docstring and (for POST, PUT and PATCH) a
free-form JSON body, so that a new route is covered — and fuzzed — before anyone describes
it. `undocumented(app)` names those routes. Served at GET /openapi.json; Schemathesis fuzzes
the live server from it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from marshmallow import Schema, fields

from server.engine.model import STATES
from server.ingest.alerts import SOURCES
from server.ingest.alerts.onset import OnsetAlertSchema
from server.ingest.events import EventSchema
from server.ingest.fields import Timestamp
from server.ingest.heartbeats import HeartbeatSchema
from server.ingest.signals import SIGNAL_TYPES, DeploySchema, SignalSchema
from server.notify.channel_spec import ChannelSchema
from server.notify.model import STATES as NOTIFICATION_STATES
from server.plans.parse import MAX_STEPS
from server.plans.templates import TEMPLATES
from server.plans.tools import PLAN_TOOLS
from server.sentinel.actions import ActionSchema
from server.sentinel.model import KEYS as HEALTH_KEYS
from server.store.alerts import STATUSES as ALERT_STATUSES
from server.triage.render import FORMATS

OPENAPI_VERSION = "3.0.3"
# Routes that are not part of the REST API: the dashboard has its own session sign-in.
NOT_API = ("static", "dashboard.")


class ErrorDetailSchema(Schema):
    code = fields.String(required=True, metadata={"description": "A stable machine-readable code."})
    message = fields.String(required=True)
    # `fields` would shadow Schema.fields: declared under another name, named `fields` on the wire.
    bad_fields = fields.Dict(required=True, data_key="fields",
                             metadata={"description": "Each bad field with its messages."})


class ErrorSchema(Schema):
    error = fields.Nested(ErrorDetailSchema, required=True)


@dataclass(frozen=True)
class Operation:
    summary: str
    scope: str | None  # None: no key (liveness and readiness only)
    query: tuple[dict[str, Any], ...] = ()
    body: dict[str, Any] | None = None  # a requestBody content map
    basic: bool = False  # also takes the key as the password of HTTP basic auth
    responses: dict[str, str] = field(default_factory=dict)
    created: bool = False  # answers 201
    path: dict[str, dict[str, Any]] = field(default_factory=dict)  # path parameter schemas


def _q(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema, "description": description}


def _text_q(*names: str) -> tuple[dict[str, Any], ...]:
    return tuple(_q(name, {"type": "string"}) for name in names)


def _json(schema: Any) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _batch(ref: str, key: str) -> dict[str, Any]:
    """A batch: a JSON array of items, or an object holding it under `key`."""
    items = {"type": "array", "items": {"$ref": f"#/components/schemas/{ref}"}}
    return _json({"oneOf": [items, {"type": "object", "properties": {key: items}, "required": [key]}]})


def _one_or_batch(ref: str, key: str) -> dict[str, Any]:
    one = {"$ref": f"#/components/schemas/{ref}"}
    items = {"type": "array", "items": one}
    return _json({"oneOf": [one, items, {"type": "object", "properties": {key: items}, "required": [key]}]})


LIMIT = _q("limit", {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100})
ANY_OBJECT = _json({"type": "object"})
_STRING_MAP = {"type": "object", "additionalProperties": {"type": "string"}}
# Alertmanager's webhook (v4), which Grafana extends; parsed by hand, not by marshmallow.
WEBHOOK_GROUP = {"type": "object", "required": ["version", "status", "alerts"], "properties": {
    "version": {"type": "string", "enum": ["4"]}, "groupKey": {"type": "string"},
    "status": {"type": "string", "enum": ["firing", "resolved"]}, "receiver": {"type": "string"},
    "truncatedAlerts": {"type": "integer", "minimum": 0}, "groupLabels": _STRING_MAP,
    "commonLabels": _STRING_MAP, "commonAnnotations": _STRING_MAP, "externalURL": {"type": "string"},
    "alerts": {"type": "array", "items": {"type": "object", "required": ["status", "labels", "startsAt"], "properties": {
        "status": {"type": "string", "enum": ["firing", "resolved"]}, "labels": _STRING_MAP,
        "annotations": _STRING_MAP, "startsAt": {"type": "string", "format": "date-time"},
        "endsAt": {"type": "string", "format": "date-time"}, "generatorURL": {"type": "string"},
        "fingerprint": {"type": "string"}}}},
}}
ALERTS_BODY = _json({"oneOf": [
    {"$ref": "#/components/schemas/OnsetAlert"},
    {"type": "object", "required": ["alerts"], "properties": {
        "alerts": {"type": "array", "items": {"$ref": "#/components/schemas/OnsetAlert"}}}},
    WEBHOOK_GROUP,
    {"type": "object", "description": "A PagerDuty V3 webhook", "properties": {"event": {"type": "object"}}},
]})

_HEALTH_KEY = {"key": {"type": "string", "enum": sorted(HEALTH_KEYS)}}

_SEVERITY = {"type": "string", "enum": ["P1", "P2", "P3", "P4"]}
_TIMELINE_ENTRY = _json({"type": "object", "required": ["kind"], "properties": {
    "kind": {"type": "string", "enum": ["note", "action", "acknowledge", "assign", "severity", "resolve", "reopen"]},
    "body": {"type": "string", "maxLength": 10000}, "author": {"type": "string", "maxLength": 200},
    "to": {"type": "string", "description": "assign: who takes it"}, "severity": _SEVERITY,
    "reason": {"type": "string", "description": "resolve (required), reopen"}}})
_FOLLOWUP = {"title": {"type": "string"}, "owner": {"type": "string"},
             "due": {"type": "string", "description": "YYYY-MM-DD (the end of that day, UTC) or RFC 3339"},
             "author": {"type": "string"}}
_ARTIFACT_BODY = {t: {"schema": {"type": "string", "format": "binary", "maxLength": 2 * 1024 * 1024}}
                  for t in ("text/markdown", "text/plain", "application/json", "application/octet-stream")}
_WEEK = {"week": {"type": "string", "pattern": "^[0-9]{4}-W[0-9]{2}$"}}
_PLAN_STEP = {"type": "object", "required": ["tool"], "properties": {
    "tool": {"type": "string", "enum": list(PLAN_TOOLS)},
    "args": {"type": "object", "description": "The tool's arguments; a string \"$steps.N.path\" is replaced by"
                                              " the value at that path of step N's result."},
    "optional": {"type": "boolean"}}}
AGENT_OPERATIONS = {
    "capabilities.get_capabilities": Operation("What this server can do and what the calling key may do.", "read"),
    "plans.execute_plan": Operation(
        "Run a plan (a template, or tool steps) server-side; X-Plan-ID names the run. Accept: text/event-stream"
        " streams each step. An Idempotency-Key header makes a repeat return the stored result.", "agent",
        body=_json({"oneOf": [
            {"type": "object", "required": ["template", "params"], "properties": {
                "template": {"type": "string", "enum": sorted(TEMPLATES)}, "params": {"type": "object"}}},
            {"type": "object", "required": ["steps"], "properties": {
                "steps": {"type": "array", "minItems": 1, "maxItems": MAX_STEPS, "items": _PLAN_STEP}}}]}),
        responses={"409": "A plan with this Idempotency-Key is still running.",
                   "422": "This Idempotency-Key was used with another body."}),
    "plans.get_plan": Operation("A plan run as stored.", "agent"),
    "narrative.get_narrative": Operation("A prose summary beside the report (never part of it or its hash); the"
                                         " templated summary when narration is off or rejected, with why.", "read"),
}
INCIDENT_LOG_OPERATIONS = {
    "timeline.declare_incident": Operation(
        "Declare an incident by hand; its evidence comes from the service's last window.", "respond", created=True,
        body=_json({"type": "object", "required": ["service", "title"], "properties": {
            "service": {"type": "string"}, "title": {"type": "string"}, "severity": _SEVERITY,
            "env": {"type": "string"}, "author": {"type": "string"},
            "started_at": {"type": "string", "description": "RFC 3339 time or epoch seconds"}}})),
    "timeline.get_timeline": Operation("An incident's timeline, oldest first.", "read"),
    "timeline.post_timeline": Operation("Add a person's entry: note, action, acknowledge, assign, severity, resolve,"
                                        " reopen.", "respond", created=True, body=_TIMELINE_ENTRY,
                                        responses={"409": "The entry cannot apply (already resolved, ...)."}),
    "timeline.get_similar": Operation("Similar past incidents, each with a score and the reason.", "read"),
    "timeline.get_postmortem": Operation("A postmortem draft (Markdown); the same incident gives the same bytes.",
                                         "read"),
    "followups.post_followup": Operation("Add a follow-up to an incident.", "respond", created=True,
                                         body=_json({"type": "object", "required": ["title"], "properties": _FOLLOWUP})),
    "followups.incident_followups": Operation("An incident's follow-ups.", "read"),
    "followups.list_followups": Operation("Follow-ups, soonest due first.", "read", query=(
        _q("overdue", {"type": "boolean"}), *_text_q("service"),
        _q("status", {"type": "string", "enum": ["open", "done"]}), LIMIT)),
    "followups.patch_followup": Operation("Change a follow-up (status done/open, title, owner, due).", "respond",
                                          body=_json({"type": "object", "properties": {
                                              **_FOLLOWUP, "status": {"type": "string", "enum": ["open", "done"]}}})),
    "followups.get_gate": Operation("The release gate: blocked while the service has an open P1/P2 incident or an"
                                    " overdue follow-up, with the reasons.", "read", query=_text_q("service")),
    "artifacts.post_artifact": Operation("Attach a Markdown, JSON or text file (at most 2 MB) as the raw body.",
                                         "respond", created=True, body=_ARTIFACT_BODY,
                                         query=(*_text_q("name", "author"),)),
    "artifacts.list_artifacts": Operation("An incident's artifacts.", "read"),
    "artifacts.download_artifact": Operation("Download an artifact (always an attachment).", "read"),
    "catalog.put_service": Operation("Set a service's owning team, runbook (http/https) and channel; fields left"
                                     " out keep their value.", "admin", body=_json({"type": "object", "properties": {
                                         "team": {"type": "string"}, "runbook_url": {"type": "string"},
                                         "channel": {"type": "string"}}})),
    "catalog.list_services": Operation("The service catalog.", "read"),
    "catalog.get_service": Operation("One service's catalog entry.", "read"),
    "catalog.delete_service": Operation("Remove a service's catalog entry.", "admin"),
    "digests.get_digest": Operation("The week's digest as JSON or Markdown.", "read", path=_WEEK, query=(
        _q("format", {"type": "string", "enum": ["json", "markdown"]}),)),
}

OPERATIONS: dict[str, Operation] = {
    "health.livez": Operation("The process answers.", None),
    "health.readyz": Operation("Database reachable, migrations applied, engine ticking (503 otherwise).", None,
                               responses={"503": "Not ready; the body says which check failed."}),
    "metrics.get_metrics": Operation("Prometheus metrics (text format).", "read"),
    "openapi.get_openapi": Operation("This document.", "read"),
    "ingest.post_events": Operation("Store wide events; a partly bad batch keeps the good ones.", "ingest",
                                    body=_batch("Event", "events")),
    "ingest.post_signals": Operation("Store signals (deploy, dependency, runtime, alert, config).", "ingest",
                                     body=_one_or_batch("Signal", "signals")),
    "ingest.get_signals": Operation("Signals, newest first.", "read", query=(
        *_text_q("service", "env", "source"),
        _q("type", {"type": "string", "enum": list(SIGNAL_TYPES)}),
        _q("since", {"type": "string"}, "RFC 3339 time or epoch seconds"),
        _q("until", {"type": "string"}, "RFC 3339 time or epoch seconds"), LIMIT)),
    "ingest.post_deploys": Operation("Store deploys (the short form of a deploy signal).", "ingest",
                                     body=_one_or_batch("Deploy", "signals")),
    "alerts.post_alerts": Operation("Alerts from Alertmanager, Grafana, PagerDuty or Onset's format (told from"
                                    " the body). Over a limit or overloaded: 503, never 429.", "ingest",
                                    basic=True, body=ALERTS_BODY),
    "alerts.post_alerts_from": Operation("Alerts from the named sender.", "ingest", basic=True, body=ALERTS_BODY,
                                         path={"source": {"type": "string", "enum": list(SOURCES)}}),
    "alerts.post_pagerduty": Operation("PagerDuty V3 webhooks (signed, or with a key).", "ingest", basic=True,
                                       body=ANY_OBJECT),
    "alerts.list_alerts": Operation("Stored alerts.", "read", query=(
        _q("status", {"type": "string", "enum": [*ALERT_STATUSES, "all"]}),
        _q("source", {"type": "string", "enum": list(SOURCES)}), *_text_q("service"), LIMIT)),
    "otlp.post_traces": Operation("OTLP/HTTP trace export (protobuf or JSON, gzip or not).", "ingest", body={
        "application/x-protobuf": {"schema": {"type": "string", "format": "binary"}},
        "application/json": {"schema": {"type": "object", "properties": {
            "resourceSpans": {"type": "array", "items": {"type": "object"}}}}},
    }),
    "incidents.list_incidents": Operation("Incidents, newest first.", "read", query=(
        _q("state", {"type": "string", "enum": [*STATES, "all"]}), *_text_q("service"), LIMIT)),
    "incidents.get_incident": Operation("One incident with its evidence, alerts and notifications.", "read"),
    "triage.get_triage": Operation("The triage.v1 report as canonical JSON.", "read"),
    "triage.get_triage_report": Operation("The report rendered.", "read", query=(
        _q("format", {"type": "string", "enum": list(FORMATS)}),)),
    "traces.get_trace": Operation("One request's story.", "read"),
    "blast.get_blast": Operation("How bad a failure is, now.", "read", query=(
        *_text_q("service", "env", "step", "error_code"),
        _q("window", {"type": "string"}, "300, 90s, 15m, 2h or 1d"))),
    "channels.add_channel": Operation("Add a notification channel.", "admin", created=True,
                                      body=_json({"$ref": "#/components/schemas/Channel"})),
    "channels.list_channels": Operation("Live notification channels.", "admin"),
    "channels.get_channel": Operation("One channel.", "admin"),
    "channels.remove_channel": Operation("Remove a channel.", "admin"),
    "notifications.list_notifications": Operation("The notification outbox, newest first.", "read", query=(
        _q("state", {"type": "string", "enum": [*NOTIFICATION_STATES, "all"]}),
        *_text_q("incident", "subject", "channel"), LIMIT)),
    "health_alerts.list_alerts": Operation("The sentinel's health alerts.", "read", query=(
        _q("state", {"type": "string", "enum": ["active", "cleared", "all"]}), *_text_q("key", "service"), LIMIT)),
    "health_alerts.get_alert": Operation("One health alert.", "read"),
    "health_alerts.trigger_action": Operation("Run the safe action of a health alert's key.", "respond",
                                              body=_json({"type": "object", "required": ["confirm"], "properties": {
                                                  "confirm": {"type": "boolean", "enum": [True]}}})),
    "health_alerts.services": Operation("Each service's health.", "read"),
    "health_alerts.list_actions": Operation("Configured safe actions.", "read"),
    "health_alerts.set_action": Operation("Configure the safe action of a health alert key.", "admin",
                                          body=_json({"$ref": "#/components/schemas/Action"}), path=_HEALTH_KEY),
    "health_alerts.remove_action": Operation("Remove a safe action.", "admin", path=_HEALTH_KEY),
    "heartbeats.post_heartbeat": Operation("A pipeline stage beats.", "ingest",
                                           body=_json({"$ref": "#/components/schemas/Heartbeat"})),
    "heartbeats.list_heartbeats": Operation("Declared heartbeats.", "read"),
    # -- the incident log (docs/incident-log.md) --
    **INCIDENT_LOG_OPERATIONS,
    # -- agents (docs/agents.md) --
    **AGENT_OPERATIONS,
}

SCHEMAS: dict[str, type[Schema]] = {
    "Event": EventSchema, "Signal": SignalSchema, "Deploy": DeploySchema, "OnsetAlert": OnsetAlertSchema,
    "Heartbeat": HeartbeatSchema, "Channel": ChannelSchema, "Action": ActionSchema, "Error": ErrorSchema,
}

_RULE_ARG = re.compile(r"<(?:[a-z_]+:)?([a-z_]+)>")


def _generic(view: Any) -> Operation:
    """What can be told of a route OPERATIONS does not describe: its scope and its docstring."""
    summary = ((view.__doc__ or "").strip().splitlines() or ["Not described yet."])[0]
    return Operation(summary, getattr(view, "required_scope", None), body=ANY_OBJECT)


def _timestamp(converter: Any, field_obj: fields.Field, **_: Any) -> dict[str, Any]:
    if isinstance(field_obj, Timestamp):
        return {"oneOf": [{"type": "number", "minimum": 0}, {"type": "string", "format": "date-time"}]}
    return {}


def api_rules(app: Flask) -> list[Any]:
    return [r for r in app.url_map.iter_rules() if not r.endpoint.startswith(NOT_API)]


def undocumented(app: Flask) -> list[str]:
    """Endpoints of the API that OPERATIONS does not describe."""
    return sorted({r.endpoint for r in api_rules(app)} - set(OPERATIONS))


def _responses(op: Operation, method: str) -> dict[str, Any]:
    error = {"description": "", "content": _json({"$ref": "#/components/schemas/Error"})}
    ok = {"description": "OK"}
    answers: dict[str, Any] = {"201": {"description": "Created"}} if op.created else {"200": ok}
    if op.body is not None:
        answers["413"] = {**error, "description": "The body (after decompression) or the batch is too large."}
        answers["415"] = {**error, "description": "An unsupported Content-Type or Content-Encoding."}
    if op.scope is not None:
        answers["401"] = {**error, "description": "No key, or an unknown or revoked one."}
        answers["403"] = {**error, "description": f"The key lacks the {op.scope} scope."}
        answers["429"] = {**error, "description": "Over the key's rate limit; see Retry-After."}
    answers["400"] = {**error, "description": "Bad input; `fields` names every bad field."}
    answers["404"] = {**error, "description": "Not found."}
    answers["503"] = {**error, "description": "Transient trouble; retry after Retry-After."}
    for status, text in op.responses.items():
        answers[status] = {**error, "description": text}
    return answers


def _operation(rule: Any, method: str, op: Operation) -> dict[str, Any]:
    params = [{"name": name, "in": "path", "required": True,
               "schema": op.path.get(name, {"type": "string", "minLength": 1})}
              for name in _RULE_ARG.findall(rule.rule)]
    params += list(op.query)
    doc: dict[str, Any] = {"operationId": f"{rule.endpoint}.{method}", "summary": op.summary,
                           "parameters": params, "responses": _responses(op, method)}
    if op.scope is None:
        doc["security"] = []
    else:
        doc["security"] = [{"bearer": []}, {"basic": []}] if op.basic else [{"bearer": []}]
        doc["description"] = f"Needs a key with the `{op.scope}` scope (admin implies every scope)."
        doc["x-onset-scope"] = op.scope
    if method in ("post", "put") and op.body is not None:
        doc["requestBody"] = {"required": True, "content": op.body}
    return doc


def openapi_document(app: Flask, version: str = "1") -> dict[str, Any]:
    """The OpenAPI document of every API route of `app`."""
    plugin = MarshmallowPlugin()
    spec = APISpec(title="Onset", version=version, openapi_version=OPENAPI_VERSION, plugins=[plugin],
                   info={"description": "Incident triage: ingest, incidents, triage reports. Errors are"
                                        " `{\"error\": {\"code\", \"message\", \"fields\"}}`."})
    plugin.converter.add_attribute_function(_timestamp)
    spec.components.security_scheme("bearer", {"type": "http", "scheme": "bearer"})
    spec.components.security_scheme("basic", {"type": "http", "scheme": "basic",
                                              "description": "The key as the password (alert senders)."})
    for name, schema in SCHEMAS.items():
        spec.components.schema(name, schema=schema)
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(api_rules(app), key=lambda r: (r.rule, r.endpoint)):
        op = OPERATIONS.get(rule.endpoint) or _generic(app.view_functions[rule.endpoint])
        path = _RULE_ARG.sub(r"{\1}", rule.rule)
        for method in sorted(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method] = _operation(rule, method, op)
    for path, operations in paths.items():
        spec.path(path=path, operations=operations)
    return _ecma_patterns(spec.to_dict())


def _ecma_patterns(node: Any) -> Any:
    """OpenAPI patterns are ECMA regexes: Python's end anchor `\\Z` is `$` there."""
    if isinstance(node, dict):
        return {k: (v.replace("\\Z", "$") if k == "pattern" and isinstance(v, str) else _ecma_patterns(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_ecma_patterns(v) for v in node]
    return node
