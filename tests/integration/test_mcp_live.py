"""Issue 11's acceptance, against a real `onset serve`: `onset mcp` started as a subprocess and
driven by the official MCP client over stdio gives the same report bytes and report_hash as
REST and the CLI; tool errors come back as MCP tool errors; respond-only tools need respond;
a plan streams each step as Server-Sent Events, and repeating it with the Idempotency-Key
replays it.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from pathlib import Path

import anyio
import pytest
import requests
from mcp import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.live import ONSET, ROOT, LiveServer, free_port

pytestmark = pytest.mark.slow

READ_TOOLS = {"list_incidents", "triage_incident", "render_triage_report", "explain_request", "blast_radius",
              "similar_incidents", "service_health"}


def _events(n: int, error_code: str | None = None) -> list[dict]:
    return [{"ts": time.time(), "service": "payment", "env": "production", "step": "POST /charge",
             "duration_ms": 12.0, "trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16],
             **({"status": "error", "error_code": error_code} if error_code else {"status": "ok"})}
            for _ in range(n)]


def _open_incident(server: LiveServer) -> str:
    """Steady traffic for three windows, then an error burst: the incident it opens, once
    resolved (its evidence, and so its report, no longer moves)."""
    stop = threading.Event()

    def steady() -> None:
        while not stop.is_set():
            server.post("/v1/events", _events(4))
            stop.wait(0.1)

    thread = threading.Thread(target=steady, daemon=True)
    thread.start()
    try:
        time.sleep(3 * 2 + 0.5)  # window 2 s (tests.support.live.FAST)
        for _ in range(4):
            assert server.post("/v1/events", _events(5, "PMT_502")).ok
            time.sleep(0.1)
        found = server.wait(lambda r: r.ok and r.json()["incidents"], "/v1/incidents?state=all", timeout=10)
    finally:
        stop.set()
        thread.join(5)
    incident_id = found.json()["incidents"][0]["id"]
    server.wait(lambda r: r.ok and r.json()["state"] == "resolved", f"/v1/incidents/{incident_id}", timeout=20)
    return incident_id


def _create_key(server: LiveServer, *scopes: str) -> str:
    args = [ONSET, "keys", "create", "--name", "agent-" + "-".join(scopes), "--json"]
    for scope in scopes:
        args += ["--scope", scope]
    out = subprocess.run(args, env=server.env, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["key"]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("mcp") / "data").start()
    try:
        incident_id = _open_incident(server)
        yield server, incident_id, _create_key(server, "agent"), _create_key(server, "agent", "respond")
    finally:
        server.stop()


def _mcp(server: LiveServer, key: str, errlog: Path, drive):
    """Run `drive(session)` against `onset mcp` started with `key`; returns what it returns."""
    params = StdioServerParameters(command=ONSET, args=["mcp"], cwd=str(ROOT),
                                   env={**server.env, "ONSET_API_KEY": key})
    outcome = {}

    async def main() -> None:
        with open(errlog, "w") as log:
            async with stdio_client(params, errlog=log) as (read, write), ClientSession(read, write) as session:
                await session.initialize()
                outcome["value"] = await drive(session)

    anyio.run(main)
    return outcome["value"]


def test_mcp_triage_gives_the_same_bytes_and_hash_as_rest_and_cli(live, tmp_path):
    server, incident_id, agent_key, _ = live

    async def drive(session: ClientSession):
        tools = await session.list_tools()
        triage = await session.call_tool("triage_incident", {"incident_id": incident_id})
        unknown = await session.call_tool("triage_incident", {"incident_id": "inc_nope"})
        listed = await session.call_tool("list_incidents", {"state": "resolved", "service": "payment"})
        resources = await session.list_resources()
        resource = await session.read_resource(f"onset://triage/{incident_id}")
        return tools, triage, unknown, listed, resources, resource

    before = server.get(f"/v1/triage/{incident_id}", key=agent_key).content
    tools, triage, unknown, listed, resources, resource = _mcp(server, agent_key, tmp_path / "mcp.log", drive)

    by_name = {t.name: t for t in tools.tools}
    assert set(by_name) == READ_TOOLS  # an agent key without respond is not offered add_timeline_note
    assert by_name["render_triage_report"].input_schema["properties"]["format"]["enum"] == [
        "text", "markdown", "slack", "pagerduty"]
    assert all(t.description for t in tools.tools)

    rest = server.get(f"/v1/triage/{incident_id}", key=agent_key)
    cli = subprocess.run([ONSET, "triage", incident_id, "--json"], env={**server.env, "ONSET_API_KEY": agent_key},
                         capture_output=True, timeout=30, check=True).stdout
    assert not triage.is_error
    mcp_bytes = triage.content[0].text.encode()
    assert mcp_bytes == rest.content == cli == before
    digest = json.loads(mcp_bytes)["report_hash"]
    assert digest == rest.headers["X-Onset-Report-Hash"] == json.loads(cli)["report_hash"]
    narrative = json.loads(triage.content[1].text)
    assert narrative["report_hash"] == digest and narrative["narrative"]["source"] == "template"

    assert unknown.is_error and "404" in unknown.content[0].text and "no incident inc_nope" in unknown.content[0].text
    assert [i["id"] for i in json.loads(listed.content[0].text)["incidents"]] == [incident_id]
    assert "onset://incidents/active" in {str(r.uri) for r in resources.resources}
    assert resource.contents[0].text.encode() == rest.content


def test_respond_tools_need_a_key_with_respond(live, tmp_path):
    server, incident_id, _, respond_key = live

    async def drive(session: ClientSession):
        tools = await session.list_tools()
        note = await session.call_tool("add_timeline_note", {"incident_id": incident_id, "body": "checked the PSP"})
        missing = await session.call_tool("add_timeline_note", {"incident_id": "inc_nope", "body": "x"})
        return tools, note, missing

    tools, note, missing = _mcp(server, respond_key, tmp_path / "mcp.log", drive)
    assert {t.name for t in tools.tools} == READ_TOOLS | {"add_timeline_note"}
    assert not note.is_error, note.content[0].text
    assert json.loads(note.content[0].text)["body"] == "checked the PSP"
    entries = server.get(f"/v1/incidents/{incident_id}/timeline").json()["entries"]
    assert any(e["kind"] == "note" and e["body"] == "checked the PSP" for e in entries)
    assert missing.is_error and "no incident inc_nope" in missing.content[0].text


def _sse(response: requests.Response) -> list[tuple[str, dict]]:
    events, name = [], None
    for line in response.iter_lines(decode_unicode=True):
        if line.startswith("event: "):
            name = line[len("event: "):]
        elif line.startswith("data: "):
            events.append((name, json.loads(line[len("data: "):])))
    return events


def test_a_plan_streams_each_step_and_an_idempotent_repeat_replays_it(live):
    server, incident_id, agent_key, _ = live
    headers = {**server.headers(agent_key), "Accept": "text/event-stream", "Idempotency-Key": "live-plan-1"}
    body = {"template": "triage", "params": {"incident_id": incident_id}}
    with requests.post(server.url + "/v1/plans/execute", json=body, headers=headers, stream=True, timeout=30) as first:
        assert first.status_code == 200 and first.headers["Content-Type"].startswith("text/event-stream")
        events = _sse(first)
    plan_id = first.headers["X-Plan-ID"]
    names = [name for name, _ in events]
    assert names[0] == "plan" and names[-1] == "done"
    finished = [data for name, data in events if name == "step" and data["status"] != "running"]
    assert [s["tool"] for s in finished] == ["triage_incident", "similar_incidents", "blast_radius",
                                             "explain_request", "service_health"]
    assert sum(1 for name, data in events if name == "step" and data["status"] == "running") == len(finished)
    done = events[-1][1]
    assert done["status"] == "succeeded" and done["plan_id"] == plan_id

    again = requests.post(server.url + "/v1/plans/execute", json=body, timeout=30,
                          headers={**server.headers(agent_key), "Idempotency-Key": "live-plan-1"})
    assert again.status_code == 200 and again.headers["X-Plan-ID"] == plan_id
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == done  # the stored result, not a second run


def test_capabilities_from_the_cli_name_the_keys_scopes(live):
    server, _, agent_key, _ = live
    env = {**server.env, "ONSET_API_KEY": agent_key}
    body = json.loads(subprocess.run([ONSET, "capabilities", "--json"], env=env, capture_output=True, text=True,
                                     timeout=30, check=True).stdout)
    assert body["key"]["grants"] == ["agent", "read"] and body["storage"]["backend"] == "sqlite"
    assert body["engine"]["leader"] and body["engine"]["last_tick_at"]
    text = subprocess.run([ONSET, "capabilities"], env=env, capture_output=True, text=True, timeout=30,
                          check=True).stdout
    assert "storage        sqlite" in text and "grants agent, read" in text


def test_mcp_over_streamable_http_on_loopback(live, tmp_path):
    server, incident_id, agent_key, _ = live
    port = free_port()
    with open(tmp_path / "mcp-http.log", "wb") as log:
        proc = subprocess.Popen([ONSET, "mcp", "--http", "--port", str(port)], cwd=ROOT, stdout=log, stderr=log,
                                env={**server.env, "ONSET_API_KEY": agent_key})
    try:
        async def main():
            for _ in range(100):  # until it listens
                try:
                    async with streamable_http_client(f"http://127.0.0.1:{port}/mcp") as streams, \
                            ClientSession(streams[0], streams[1]) as session:
                        await session.initialize()
                        return await session.call_tool("triage_incident", {"incident_id": incident_id})
                except Exception:
                    await anyio.sleep(0.1)
            raise AssertionError("onset mcp --http never answered")

        result = anyio.run(main)
        assert result.content[0].text.encode() == server.get(f"/v1/triage/{incident_id}").content
    finally:
        proc.terminate()
        proc.wait(10)
