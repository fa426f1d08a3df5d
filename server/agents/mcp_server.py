"""`onset mcp`: Onset's tools and resources over the Model Context Protocol (official SDK, 2.x).

A surface like the CLI: every tool is one or two calls to the REST API with ONSET_URL and
ONSET_API_KEY (a key of scope `agent`, or `read`). It decides nothing. An API error comes
back as an MCP tool error carrying the API's message; the server itself never crashes on
one. Stdout is the protocol on stdio: nothing else may write there, so logs go to stderr.

Tools: see `server.agents.catalogue`; `add_timeline_note` is offered only when the key
grants `respond` (asked of GET /v1/capabilities at start). Resources:
`onset://incidents/active` (the active incidents) and `onset://triage/{incident_id}` (a
report, as GET /v1/triage/{id} returns it).
"""

from __future__ import annotations

import logging
import threading
from typing import Annotated, Any, Literal
from urllib.parse import quote

import orjson
import uvicorn
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError, ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import Field

from server.agents.catalogue import RESPOND_TOOLS, TOOLS
from server.client import ApiClient, ApiFailure
from server.triage.lookup import generator

log = logging.getLogger("onset.mcp")

INSTRUCTIONS = (
    "Onset triages production incidents with deterministic rules and cites evidence for every claim. Start with"
    " list_incidents, then triage_incident for the report (quote its facts and evidence ids), then"
    " explain_request, blast_radius, similar_incidents or service_health to dig further. A narrative, when"
    " present, only rephrases the report."
)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)
WRITES = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=False)

IncidentId = Annotated[str, Field(description="An incident id, e.g. inc_20240501_0213_a1b2c3 (see list_incidents).",
                                  min_length=1, max_length=128)]
Optional = Annotated[str | None, Field(description="Leave out for any.")]


def _path(*parts: str) -> str:
    return "/" + "/".join(quote(p, safe="") for p in parts)


class OnsetApi:
    """The REST calls behind the tools. One HTTP session per thread: the SDK runs sync tools
    on worker threads, and a requests.Session is not meant to be shared between them."""

    def __init__(self, url: str, api_key: str | None, timeout: float = 30.0):
        self.url, self.api_key, self.timeout = url, api_key, timeout
        self._local = threading.local()

    @property
    def client(self) -> ApiClient:
        client = getattr(self._local, "client", None)
        if client is None:
            client = self._local.client = ApiClient(self.url, self.api_key, self.timeout)
        return client

    def text(self, path: str, **params: Any) -> str:
        """The body of GET `path` as text, exactly as the server sent it; ToolError on failure."""
        try:
            return self.client.get_bytes(path, **params).decode()
        except ApiFailure as exc:
            raise ToolError(str(exc)) from None

    def json(self, path: str, **params: Any) -> Any:
        body = self.text(path, **params)
        try:
            return orjson.loads(body)
        except orjson.JSONDecodeError:
            raise ToolError(f"{self.url}{path} did not answer JSON: {body[:200]!r}") from None

    def post(self, path: str, payload: Any) -> Any:
        try:
            return self.client.post_json(path, payload)
        except ApiFailure as exc:
            raise ToolError(str(exc)) from None


def _json_text(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_INDENT_2).decode()


def scopes_of(api: OnsetApi) -> list[str]:
    """The scopes the key grants, from GET /v1/capabilities; [] when the server cannot say."""
    try:
        return list(api.json("/v1/capabilities")["key"]["grants"])
    except (ToolError, KeyError, TypeError, ValueError) as exc:
        log.warning("cannot read the key's scopes from %s/v1/capabilities (%s): respond tools are left out",
                    api.url, exc)
        return []


def build_server(api: OnsetApi, scopes: list[str]) -> MCPServer:
    """The MCP server over `api`; `scopes` (the key's grants) decide whether respond tools exist."""
    server = MCPServer("onset", instructions=INSTRUCTIONS, version=generator().removeprefix("onset").strip())

    @server.tool(description=TOOLS["list_incidents"], annotations=READ_ONLY)
    def list_incidents(
        state: Annotated[Literal["active", "recovering", "resolved", "all"],
                         Field(description="Lifecycle state to list.")] = "active",
        service: Annotated[str | None, Field(description="Only incidents with a family in this service.")] = None,
        limit: Annotated[int, Field(ge=1, le=1000, description="Most incidents to return.")] = 50,
    ) -> str:
        return api.text("/v1/incidents", state=state, service=service, limit=limit)

    @server.tool(description=TOOLS["triage_incident"], annotations=READ_ONLY)
    def triage_incident(
        incident_id: IncidentId,
        narrative: Annotated[bool, Field(description="Also return the prose narrative (a second block).")] = True,
    ) -> CallToolResult:
        # The body as the server sent it: same bytes, so anyone can re-hash it to report_hash.
        report = api.text(_path("v1", "triage", incident_id))
        blocks = [TextContent(type="text", text=report)]
        if narrative:
            try:
                told = api.json(_path("v1", "triage", incident_id, "narrative"))
                blocks.append(TextContent(type="text", text=_json_text({"narrative": told["narrative"],
                                                                        "report_hash": told["report_hash"]})))
            except ToolError as exc:  # the report stands on its own; say why the narrative is missing
                blocks.append(TextContent(type="text", text=_json_text({"narrative": None, "why": str(exc)})))
        return CallToolResult(content=blocks)

    @server.tool(description=TOOLS["render_triage_report"], annotations=READ_ONLY)
    def render_triage_report(
        incident_id: IncidentId,
        format: Annotated[Literal["text", "markdown", "slack", "pagerduty"],
                          Field(description="text, markdown, slack (Block Kit JSON) or pagerduty.")] = "markdown",
    ) -> str:
        return api.text(_path("v1", "triage", incident_id, "report"), format=format)

    @server.tool(description=TOOLS["explain_request"], annotations=READ_ONLY)
    def explain_request(
        trace_id: Annotated[str, Field(description="A trace id, e.g. one of the report's sample traces.",
                                       min_length=1, max_length=64)],
    ) -> str:
        return api.text(_path("v1", "traces", trace_id))

    @server.tool(description=TOOLS["blast_radius"], annotations=READ_ONLY)
    def blast_radius(
        service: Optional = None, env: Optional = None, step: Optional = None, error_code: Optional = None,
        window: Annotated[str | None, Field(description="A duration: 300, 90s, 15m, 2h, 1d.")] = None,
    ) -> str:
        return api.text("/v1/blast", service=service, env=env, step=step, error_code=error_code, window=window)

    @server.tool(description=TOOLS["similar_incidents"], annotations=READ_ONLY)
    def similar_incidents(incident_id: IncidentId) -> str:
        report = api.json(_path("v1", "triage", incident_id))
        return _json_text({"incident_id": report["incident"]["id"], "report_hash": report["report_hash"],
                           "similar_incidents": report["similar_incidents"]})

    @server.tool(description=TOOLS["service_health"], annotations=READ_ONLY)
    def service_health(service: Annotated[str | None, Field(description="Only this service.")] = None) -> str:
        rows = api.json("/v1/health/services")["services"]
        return _json_text({"services": [s for s in rows if service is None or s["service"] == service]})

    if "respond" in scopes:
        @server.tool(description=TOOLS["add_timeline_note"], annotations=WRITES)
        def add_timeline_note(
            incident_id: IncidentId,
            body: Annotated[str, Field(description="The note, in Markdown.", min_length=1, max_length=10_000)],
        ) -> str:
            entry = api.post(_path("v1", "incidents", incident_id, "timeline"), {"kind": "note", "body": body})
            return _json_text(entry)
    else:
        log.info("the key does not grant respond: %s not offered", ", ".join(sorted(RESPOND_TOOLS)))

    @server.resource("onset://incidents/active", name="active-incidents", mime_type="application/json",
                     description="The active incidents, newest first (GET /v1/incidents?state=active).")
    def active_incidents() -> str:
        try:
            return api.text("/v1/incidents", state="active")
        except ToolError as exc:
            raise ResourceError(str(exc)) from None

    @server.resource("onset://triage/{incident_id}", name="triage-report", mime_type="application/json",
                     description="An incident's triage.v1 report, exactly as GET /v1/triage/{id} returns it.")
    def triage_report(incident_id: str) -> str:
        try:
            return api.text(_path("v1", "triage", incident_id))
        except ToolError as exc:
            raise ResourceError(str(exc)) from None

    return server


def run(url: str, api_key: str | None, *, http: bool = False, port: int = 8765) -> None:
    """Serve until the client hangs up (stdio) or the process is stopped (--http)."""
    api = OnsetApi(url, api_key)
    server = build_server(api, scopes_of(api))
    if http:
        log.info("onset mcp: streamable HTTP on http://127.0.0.1:%d/mcp", port)
        # uvicorn's own log config writes access lines to stdout; None sends them to the root
        # logger, which `onset mcp` points at stderr.
        uvicorn.run(server.streamable_http_app(host="127.0.0.1"), host="127.0.0.1", port=port, log_config=None)
    else:
        server.run("stdio")
