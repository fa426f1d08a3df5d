"""POST /v1/plans/execute and GET /v1/plans/{id}: templates and explicit steps run server-side,
references between steps, Idempotency-Key (a repeat runs nothing), Server-Sent Events."""

from __future__ import annotations

import dataclasses

import orjson
import pytest

from server.api.plans import request_hash_of
from server.engine.tick import Engine
from server.plans.tools import PLAN_TOOLS
from server.store import db, plan_runs
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import Fault, play

EXECUTE = "/v1/plans/execute"
TRIAGE_TOOLS = ["triage_incident", "similar_incidents", "blast_radius", "explain_request", "service_health"]


@pytest.fixture
def incident_id(store) -> str:
    return play(store, Engine(store, "plans-test"), Fault(processor="timeout")).incident_id


@pytest.fixture
def agent(auth) -> dict[str, str]:
    return auth("agent")


@pytest.fixture
def runs(monkeypatch) -> list[dict]:
    """Every call of the triage_incident tool, to count how often a plan really ran."""
    calls: list[dict] = []
    tool = PLAN_TOOLS["triage_incident"]

    def counting(args, ctx):
        calls.append(args)
        return tool.run(args, ctx)

    monkeypatch.setitem(PLAN_TOOLS, "triage_incident", dataclasses.replace(tool, run=counting))
    return calls


def triage_plan(incident_id: str) -> dict:
    return {"template": "triage", "params": {"incident_id": incident_id}}


def sse_events(body: bytes) -> list[tuple[str, dict]]:
    events = []
    for block in body.decode().strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], orjson.loads(lines["data"])))
    return events


def stored_runs() -> int:
    return db.fetchone("SELECT COUNT(*) FROM plan_runs")[0]


def test_the_triage_template_runs_every_step_and_says_its_plan_id(client, agent, incident_id):
    response = client.post(EXECUTE, json=triage_plan(incident_id), headers=agent)
    assert response.status_code == 200, response.get_data(as_text=True)
    result = response.get_json()
    assert response.headers["X-Plan-ID"] == result["plan_id"] and result["plan_id"].startswith("plan_")
    assert result["status"] == "succeeded" and result["template"] == "triage"
    assert [s["tool"] for s in result["steps"]] == TRIAGE_TOOLS
    assert all(s["status"] == "ok" for s in result["steps"]), result["steps"]
    rest = client.get(f"/v1/triage/{incident_id}", headers=agent)
    triage, similar, blast, story, health = (s["result"] for s in result["steps"])
    assert triage["report"] == orjson.loads(rest.get_data())
    assert triage["report_hash"] == rest.headers["X-Onset-Report-Hash"] == similar["report_hash"]
    family = triage["report"]["incident"]["family"]
    assert {k: blast["query"][k] for k in family} == family
    assert story["trace_id"] == triage["report"]["where_it_started"]["sample_traces"][0]["trace_id"]
    assert {s["service"] for s in health["services"]} <= {triage["report"]["where_it_started"]["origin"]["service"]}


def test_explicit_steps_pass_results_on_by_reference(client, agent, incident_id):
    plan = {"steps": [
        {"tool": "list_incidents", "args": {"state": "all"}},
        {"tool": "render_triage_report", "args": {"incident_id": "$steps.0.incidents.0.id", "format": "markdown"}},
    ]}
    result = client.post(EXECUTE, json=plan, headers=agent).get_json()
    assert result["status"] == "succeeded"
    listed, rendered = result["steps"]
    assert rendered["args"]["incident_id"] == listed["result"]["incidents"][0]["id"] == incident_id
    assert rendered["result"]["content_type"].startswith("text/markdown")
    assert rendered["result"]["report_hash"] in rendered["result"]["body"]


def test_a_failed_step_stops_the_plan_with_the_tools_error(client, agent, incident_id):
    plan = {"steps": [{"tool": "triage_incident", "args": {"incident_id": "inc_nope"}},
                      {"tool": "similar_incidents", "args": {"incident_id": "$steps.0.report.incident.id"}}]}
    response = client.post(EXECUTE, json=plan, headers=agent)
    assert response.status_code == 200
    result = response.get_json()
    assert result["status"] == "failed"
    failed, skipped = result["steps"]
    assert failed["status"] == "failed" and failed["error"]["code"] == "not_found"
    assert failed["error"]["message"] == "no incident inc_nope"
    assert skipped["status"] == "not_run"


def test_an_optional_step_whose_reference_finds_nothing_is_skipped(client, agent, incident_id):
    plan = {"steps": [{"tool": "list_incidents", "args": {"state": "resolved"}},
                      {"tool": "triage_incident", "args": {"incident_id": "$steps.0.incidents.0.id"}, "optional": True},
                      {"tool": "service_health"}]}
    result = client.post(EXECUTE, json=plan, headers=agent).get_json()
    assert result["status"] == "succeeded"
    assert [s["status"] for s in result["steps"]] == ["ok", "skipped", "ok"]
    assert "$steps.0.incidents.0.id" in result["steps"][1]["reason"]


def test_a_bad_argument_found_after_resolving_fails_the_step(client, agent, incident_id):
    plan = {"steps": [{"tool": "triage_incident", "args": {"incident_id": incident_id}},
                      {"tool": "blast_radius", "args": {"window": "$steps.0.report.incident.id"}}]}
    result = client.post(EXECUTE, json=plan, headers=agent).get_json()
    assert result["steps"][1]["error"]["code"] == "validation_failed"
    assert "window" in result["steps"][1]["error"]["fields"]


def test_the_same_plan_twice_with_one_idempotency_key_runs_once(client, agent, incident_id, runs):
    headers = {**agent, "Idempotency-Key": "retry-me-1"}
    first = client.post(EXECUTE, json=triage_plan(incident_id), headers=headers)
    second = client.post(EXECUTE, json=triage_plan(incident_id), headers=headers)
    assert first.status_code == second.status_code == 200
    assert len(runs) == 1 and stored_runs() == 1
    assert second.headers["X-Plan-ID"] == first.headers["X-Plan-ID"]
    assert second.headers["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first.headers
    assert second.get_data() == first.get_data()


def test_without_an_idempotency_key_each_post_runs(client, agent, incident_id, runs):
    client.post(EXECUTE, json=triage_plan(incident_id), headers=agent)
    client.post(EXECUTE, json=triage_plan(incident_id), headers=agent)
    assert len(runs) == 2 and stored_runs() == 2


def test_idempotency_keys_belong_to_one_api_key(client, auth, incident_id, runs):
    for headers in (auth("agent"), auth("agent")):
        client.post(EXECUTE, json=triage_plan(incident_id), headers={**headers, "Idempotency-Key": "shared"})
    assert len(runs) == 2


def test_an_idempotency_key_reused_with_another_body_is_refused(client, agent, incident_id, runs):
    headers = {**agent, "Idempotency-Key": "retry-me-2"}
    client.post(EXECUTE, json=triage_plan(incident_id), headers=headers)
    other = client.post(EXECUTE, json={"steps": [{"tool": "service_health"}]}, headers=headers)
    error = assert_error_shape(other, 422, "Idempotency-Key")
    assert error["code"] == "idempotency_key_reused"
    assert len(runs) == 1


def test_a_repeat_while_the_first_still_runs_is_a_conflict(client, agent, incident_id, store):
    body = triage_plan(incident_id)
    key_id = client.get("/v1/capabilities", headers=agent).get_json()["key"]["key_id"]
    running, mine = plan_runs.claim(key_id, "busy", request_hash_of(body), body, 1e10, 300)
    assert mine
    response = client.post(EXECUTE, json=body, headers={**agent, "Idempotency-Key": "busy"})
    assert_error_shape(response, 409, "Idempotency-Key")
    assert response.headers["Retry-After"] == "1" and response.headers["X-Plan-ID"] == running.id


def test_event_stream_shows_each_step_starting_and_ending(client, agent, incident_id):
    response = client.post(EXECUTE, json=triage_plan(incident_id), headers={**agent, "Accept": "text/event-stream"})
    assert response.status_code == 200 and response.mimetype == "text/event-stream"
    events = sse_events(response.get_data())
    assert events[0][0] == "plan" and [s["tool"] for s in events[0][1]["steps"]] == TRIAGE_TOOLS
    steps = [data for name, data in events if name == "step"]
    assert [(s["tool"], s["status"]) for s in steps] == [(t, st) for t in TRIAGE_TOOLS for st in ("running", "ok")]
    name, done = events[-1]
    assert name == "done" and done["plan_id"] == response.headers["X-Plan-ID"] == events[0][1]["plan_id"]
    stored = client.get(f"/v1/plans/{done['plan_id']}", headers=agent)
    assert stored.get_json() == done  # stored before it was sent


def test_an_idempotent_repeat_as_a_stream_replays_the_stored_steps(client, agent, incident_id, runs):
    headers = {**agent, "Idempotency-Key": "stream-1", "Accept": "text/event-stream"}
    first = sse_events(client.post(EXECUTE, json=triage_plan(incident_id), headers=headers).get_data())
    again = client.post(EXECUTE, json=triage_plan(incident_id), headers=headers)
    replay = sse_events(again.get_data())
    assert len(runs) == 1 and again.headers["Idempotent-Replayed"] == "true"
    assert replay[0][1]["replayed"] is True
    assert replay[-1] == first[-1]
    assert [d for n, d in replay if n == "step"] == [d for n, d in first if n == "step" and d["status"] != "running"]


def test_a_stream_abandoned_mid_plan_is_forgotten(app, agent, incident_id):
    with app.test_client() as c:
        response = c.post(EXECUTE, json=triage_plan(incident_id),
                          headers={**agent, "Accept": "text/event-stream", "Idempotency-Key": "gone"},
                          buffered=False)
        chunks = iter(response.response)
        next(chunks)  # the plan event
        next(chunks)  # the first step starting
        response.close()  # the client goes away
    assert stored_runs() == 0  # a retry with the same key runs afresh


@pytest.mark.parametrize("body, field", [
    ({"template": "nope"}, "template"),
    ({"template": "triage"}, "params.incident_id"),
    ({"template": "triage", "params": {"incident_id": "i"}, "steps": [{"tool": "service_health"}]}, "steps"),
    ({"steps": [{"tool": "drop_tables"}]}, "steps.0.tool"),
])
def test_bad_plans_are_400s_naming_the_field(client, agent, body, field):
    assert_error_shape(client.post(EXECUTE, json=body, headers=agent), 400, field)
    assert stored_runs() == 0


def test_a_bad_idempotency_key_is_named(client, agent):
    response = client.post(EXECUTE, json={"steps": [{"tool": "service_health"}]},
                           headers={**agent, "Idempotency-Key": "x" * 256})
    assert_error_shape(response, 400, "Idempotency-Key")


def test_plans_need_the_agent_scope(client, auth):
    body = {"steps": [{"tool": "service_health"}]}
    assert_error_shape(client.post(EXECUTE, json=body), 401)
    assert_error_shape(client.post(EXECUTE, json=body, headers=auth("read")), 403, "scope")
    assert_error_shape(client.post(EXECUTE, json=body, headers=auth("respond")), 403, "scope")
    assert client.post(EXECUTE, json=body, headers=auth("admin")).status_code == 200


def test_a_plan_is_only_shown_to_its_key_or_an_admin(client, auth, agent):
    plan_id = client.post(EXECUTE, json={"steps": [{"tool": "service_health"}]}, headers=agent).headers["X-Plan-ID"]
    assert client.get(f"/v1/plans/{plan_id}", headers=agent).status_code == 200
    assert_error_shape(client.get(f"/v1/plans/{plan_id}", headers=auth("agent")), 404, "plan_id")
    assert client.get(f"/v1/plans/{plan_id}", headers=auth("admin")).status_code == 200
