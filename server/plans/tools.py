"""The tools a plan step can call, run in the server by calling what the REST views call
(never HTTP to itself). Each returns the JSON its REST route answers, or close to it:

| tool | returns | REST twin |
|---|---|---|
| list_incidents | `{"incidents": [...]}` | GET /v1/incidents |
| triage_incident | `{"report_hash", "report"}` | GET /v1/triage/{id} |
| render_triage_report | `{"format", "content_type", "report_hash", "body"}` | GET /v1/triage/{id}/report |
| explain_request | the trace story | GET /v1/traces/{id} |
| blast_radius | `{"query", ...}` | GET /v1/blast |
| similar_incidents | `{"incident_id", "report_hash", "similar_incidents"}` | the report's section |
| service_health | `{"services": [...]}` | GET /v1/health/services |

Failures raise `ApiError`s (NotFound, ValidationFailed): the runner records them on the step.
Plans change nothing: `add_timeline_note` is an MCP tool only (see docs/agents.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from marshmallow import RAISE, Schema, ValidationError, fields, validate

from server.agents.catalogue import TOOLS as DESCRIPTIONS
from server.api.blast import blast_body, parse_window
from server.api.health_alerts import present_service
from server.api.incidents import incident_summaries
from server.config import Settings
from server.engine.model import STATES
from server.errors import NotFound, ValidationFailed
from server.evidence.story import story_of
from server.ingest.events import ID_PATTERN
from server.store import health_alerts
from server.triage.lookup import report_for
from server.triage.render import render

AGENT_FORMATS = ("text", "markdown", "slack", "pagerduty")


@dataclass(frozen=True)
class ToolContext:
    settings: Settings
    now: float


class _Args(Schema):
    class Meta:
        unknown = RAISE


class ListIncidentsArgs(_Args):
    state = fields.String(load_default="active", validate=validate.OneOf((*STATES, "all")))
    service = fields.String(load_default=None, allow_none=True, validate=validate.Length(1, 256))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 1000))


class IncidentArgs(_Args):
    incident_id = fields.String(required=True, validate=validate.Length(1, 128))


class RenderArgs(IncidentArgs):
    format = fields.String(load_default="markdown", validate=validate.OneOf(AGENT_FORMATS))


class TraceArgs(_Args):
    trace_id = fields.String(required=True, validate=validate.Regexp(ID_PATTERN, error="must be 1-64 characters of"
                                                                                     " [0-9A-Za-z_.:-]"))


class BlastArgs(_Args):
    service = fields.String(load_default=None, allow_none=True)
    env = fields.String(load_default=None, allow_none=True)
    step = fields.String(load_default=None, allow_none=True)
    error_code = fields.String(load_default=None, allow_none=True)
    window = fields.Raw(load_default=None, allow_none=True)


class ServiceArgs(_Args):
    service = fields.String(load_default=None, allow_none=True)


def _report(incident_id: str) -> dict[str, Any]:
    report = report_for(incident_id)
    if report is None:
        raise NotFound(f"no incident {incident_id}", {"incident_id": ["unknown"]})
    return report


def list_incidents(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    return {"incidents": incident_summaries(args["state"], args["service"], args["limit"])}


def triage_incident(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    report = _report(args["incident_id"])
    return {"report_hash": report["report_hash"], "report": report}


def render_triage_report(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    report = _report(args["incident_id"])
    body, content_type = render(report, args["format"])
    shown = orjson.loads(body) if content_type == "application/json" else body.decode()
    return {"format": args["format"], "content_type": content_type, "report_hash": report["report_hash"],
            "body": shown}


def explain_request(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    story = story_of(args["trace_id"])
    if story is None:
        raise NotFound(f"no event of trace {args['trace_id']} was found", {"trace_id": ["unknown"]})
    return story


def blast_radius(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    settings = ctx.settings
    window = parse_window(args["window"], settings.window_seconds, settings.bucket_seconds)
    filters = {name: args[name] or None for name in ("service", "env", "step", "error_code")}
    return blast_body(filters, window, settings.bucket_seconds, ctx.now)


def similar_incidents(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    report = _report(args["incident_id"])
    return {"incident_id": report["incident"]["id"], "report_hash": report["report_hash"],
            "similar_incidents": report["similar_incidents"]}


def service_health(args: dict[str, Any], ctx: ToolContext) -> dict[str, Any]:
    rows = health_alerts.service_health(ctx.now, ctx.settings.tick_seconds)
    wanted = args["service"]
    return {"services": [present_service(s) for s in rows if wanted is None or s["service"] == wanted]}


@dataclass(frozen=True)
class PlanTool:
    name: str
    description: str
    args: type[Schema]
    run: Callable[[dict[str, Any], ToolContext], dict[str, Any]]


PLAN_TOOLS: dict[str, PlanTool] = {
    tool.name: tool for tool in (
        PlanTool("list_incidents", DESCRIPTIONS["list_incidents"], ListIncidentsArgs, list_incidents),
        PlanTool("triage_incident", DESCRIPTIONS["triage_incident"], IncidentArgs, triage_incident),
        PlanTool("render_triage_report", DESCRIPTIONS["render_triage_report"], RenderArgs, render_triage_report),
        PlanTool("explain_request", DESCRIPTIONS["explain_request"], TraceArgs, explain_request),
        PlanTool("blast_radius", DESCRIPTIONS["blast_radius"], BlastArgs, blast_radius),
        PlanTool("similar_incidents", DESCRIPTIONS["similar_incidents"], IncidentArgs, similar_incidents),
        PlanTool("service_health", DESCRIPTIONS["service_health"], ServiceArgs, service_health),
    )
}


def load_args(tool: PlanTool, args: dict[str, Any], *, partial: tuple[str, ...] = ()) -> dict[str, Any]:
    """`args` validated by the tool's schema; raises ValidationFailed with the field errors."""
    try:
        return tool.args().load(args, partial=partial)
    except ValidationError as exc:
        raise ValidationFailed(f"bad arguments for {tool.name}", exc.messages_dict) from None
