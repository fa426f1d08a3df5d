"""The MCP server in-process, over a mocked REST API (`responses`): tools answer with the
API's bytes, API errors become MCP tool errors carrying the API's message, respond tools
exist only for respond keys, and MCP and plan tools agree on their arguments."""

from __future__ import annotations

import json

import anyio
import pytest
import responses
from mcp import Client
from mcp.shared.exceptions import MCPError

from server.agents.catalogue import TOOLS
from server.agents.mcp_server import OnsetApi, build_server, scopes_of
from server.plans.tools import PLAN_TOOLS

URL = "http://onset.test"
REPORT = b'{"incident":{"id":"inc_1"},"report_hash":"sha256:ab","similar_incidents":{"items":[]},"summary":"s"}'
MCP_ONLY_ARGS = {"triage_incident": {"narrative"}}


def server(scopes=("read", "agent")):
    return build_server(OnsetApi(URL, "onk_test_key"), list(scopes))


def over_mcp(srv, use):
    """`await use(client)` with the official client connected to `srv` in-process."""
    async def main():
        async with Client(srv) as client:
            try:
                return await use(client)
            except MCPError as exc:  # a protocol error: returned, so that the client closes cleanly
                return exc

    return anyio.run(main)


def call(srv, name: str, args: dict):
    return over_mcp(srv, lambda c: c.call_tool(name, args))


def tools_of(srv) -> dict:
    return {t.name: t for t in over_mcp(srv, lambda c: c.list_tools()).tools}


def read(srv, uri: str) -> str | MCPError:
    result = over_mcp(srv, lambda c: c.read_resource(uri))
    return result if isinstance(result, MCPError) else result.contents[0].text


def test_every_tool_has_a_description_and_a_json_schema():
    tools = tools_of(server(("read", "respond")))
    assert set(tools) == set(TOOLS)
    for tool in tools.values():
        assert tool.description == TOOLS[tool.name] and tool.input_schema["type"] == "object"


def test_respond_tools_are_offered_only_to_keys_that_grant_respond():
    assert "add_timeline_note" not in tools_of(server(("read", "agent")))
    assert "add_timeline_note" in tools_of(server(("read", "respond")))


@pytest.mark.parametrize("name", sorted(PLAN_TOOLS))
def test_mcp_tools_and_plan_tools_take_the_same_arguments(name):
    mcp_args = set(tools_of(server())[name].input_schema.get("properties", {}))
    plan_args = set(PLAN_TOOLS[name].args().fields)
    assert mcp_args - MCP_ONLY_ARGS.get(name, set()) == plan_args


@responses.activate
def test_triage_returns_the_api_bytes_as_they_came_then_the_narrative():
    responses.get(f"{URL}/v1/triage/inc_1", body=REPORT, content_type="application/json")
    responses.get(f"{URL}/v1/triage/inc_1/narrative", json={"report_hash": "sha256:ab", "narrative": {"text": "s"}})
    result = call(server(), "triage_incident", {"incident_id": "inc_1"})
    assert not result.is_error
    assert result.content[0].text.encode() == REPORT
    assert json.loads(result.content[1].text) == {"narrative": {"text": "s"}, "report_hash": "sha256:ab"}
    assert responses.calls[0].request.headers["Authorization"] == "Bearer onk_test_key"


@responses.activate
def test_a_missing_narrative_leaves_the_report_standing():
    responses.get(f"{URL}/v1/triage/inc_1", body=REPORT)
    responses.get(f"{URL}/v1/triage/inc_1/narrative", status=500, json={"error": {"message": "boom"}})
    result = call(server(), "triage_incident", {"incident_id": "inc_1"})
    assert not result.is_error and result.content[0].text.encode() == REPORT
    assert json.loads(result.content[1].text)["narrative"] is None


@pytest.mark.parametrize("status, message", [(404, "no incident inc_x"), (429, "this key is over its read rate limit"),
                                             (403, "this key lacks the 'read' scope")])
@responses.activate
def test_api_errors_are_tool_errors_with_the_apis_message(status, message):
    responses.get(f"{URL}/v1/triage/inc_x", status=status,
                  json={"error": {"code": "x", "message": message, "fields": {}}})
    result = call(server(), "triage_incident", {"incident_id": "inc_x"})
    assert result.is_error and f"{status}: {message}" in result.content[0].text


def test_an_unreachable_api_is_a_tool_error_not_a_crash():
    srv = build_server(OnsetApi("http://127.0.0.1:9", None, timeout=1), ["read"])
    result = call(srv, "list_incidents", {})
    assert result.is_error and "cannot reach http://127.0.0.1:9" in result.content[0].text


def test_bad_arguments_are_refused_by_the_schema():
    result = call(server(), "render_triage_report", {"incident_id": "inc_1", "format": "html"})
    assert result.is_error


@responses.activate
def test_add_timeline_note_posts_a_note_and_reports_the_apis_refusal():
    responses.post(f"{URL}/v1/incidents/inc_1/timeline", status=201,
                   json={"kind": "note", "body": "checked", "author": "bot", "ts": "2024-01-01T00:00:00.000Z"})
    responses.post(f"{URL}/v1/incidents/inc_2/timeline", status=404,
                   json={"error": {"code": "not_found", "message": "no incident inc_2", "fields": {}}})
    srv = server(("read", "respond"))
    ok = call(srv, "add_timeline_note", {"incident_id": "inc_1", "body": "checked"})
    assert not ok.is_error and json.loads(ok.content[0].text)["body"] == "checked"
    assert json.loads(responses.calls[0].request.body) == {"kind": "note", "body": "checked"}
    refused = call(srv, "add_timeline_note", {"incident_id": "inc_2", "body": "x"})
    assert refused.is_error and "404: no incident inc_2" in refused.content[0].text


@responses.activate
def test_ids_are_escaped_in_paths():
    responses.get(f"{URL}/v1/traces/a%2Fb", json={"trace_id": "a/b"})
    assert not call(server(), "explain_request", {"trace_id": "a/b"}).is_error


@responses.activate
def test_list_and_health_filters():
    responses.get(f"{URL}/v1/incidents", json={"incidents": []})
    responses.get(f"{URL}/v1/health/services", json={"services": [{"service": "a"}, {"service": "b"}]})
    srv = server()
    call(srv, "list_incidents", {"state": "all", "service": "payment"})
    assert responses.calls[0].request.params == {"state": "all", "service": "payment", "limit": "50"}
    health = call(srv, "service_health", {"service": "b"})
    assert json.loads(health.content[0].text) == {"services": [{"service": "b"}]}


@responses.activate
def test_resources_are_the_active_incidents_and_each_report():
    responses.get(f"{URL}/v1/incidents", body=b'{"incidents":[]}')
    responses.get(f"{URL}/v1/triage/inc_1", body=REPORT)
    responses.get(f"{URL}/v1/triage/inc_9", status=404, json={"error": {"message": "no incident inc_9"}})
    srv = server()
    assert read(srv, "onset://incidents/active") == '{"incidents":[]}'
    assert read(srv, "onset://triage/inc_1").encode() == REPORT
    refused = read(srv, "onset://triage/inc_9")
    assert isinstance(refused, MCPError) and "404: no incident inc_9" in str(refused)


@responses.activate
def test_the_keys_scopes_come_from_capabilities_and_default_to_none():
    responses.get(f"{URL}/v1/capabilities", json={"key": {"grants": ["agent", "read", "respond"]}})
    assert scopes_of(OnsetApi(URL, "k")) == ["agent", "read", "respond"]
    responses.replace(responses.GET, f"{URL}/v1/capabilities", status=401, json={"error": {"message": "no"}})
    assert scopes_of(OnsetApi(URL, "k")) == []
