"""run_plan on stub tools: events per step, references, optional steps, failures and crashes."""

from __future__ import annotations

import dataclasses

import pytest

from server.config import load_settings
from server.errors import NotFound
from server.plans.model import Plan, Step
from server.plans.runner import run_plan
from server.plans.tools import PLAN_TOOLS, ToolContext

CTX = ToolContext(load_settings({}), 1_700_000_000.0)


@pytest.fixture(autouse=True)
def stub_tools(monkeypatch):
    def triage(args, ctx):
        if args["incident_id"] == "missing":
            raise NotFound("no incident missing", {"incident_id": ["unknown"]})
        return {"report": {"incident": {"id": args["incident_id"]}}}

    def crash(args, ctx):
        raise RuntimeError("bug")

    monkeypatch.setitem(PLAN_TOOLS, "triage_incident", dataclasses.replace(PLAN_TOOLS["triage_incident"], run=triage))
    monkeypatch.setitem(PLAN_TOOLS, "similar_incidents",
                        dataclasses.replace(PLAN_TOOLS["similar_incidents"], run=lambda a, c: {"seen": a["incident_id"]}))
    monkeypatch.setitem(PLAN_TOOLS, "service_health", dataclasses.replace(PLAN_TOOLS["service_health"], run=crash))


def events(*steps: Step) -> list[tuple[str, dict]]:
    return list(run_plan(Plan(tuple(steps)), CTX, clock=lambda: 0.0))


def test_each_step_is_reported_running_then_done_and_results_flow_on():
    found = events(Step("triage_incident", {"incident_id": "inc_1"}),
                   Step("similar_incidents", {"incident_id": "$steps.0.report.incident.id"}))
    assert [(e, d["status"]) for e, d in found] == [("step", "running"), ("step", "ok"), ("step", "running"),
                                                    ("step", "ok"), ("done", "succeeded")]
    assert found[3][1]["result"] == {"seen": "inc_1"} and found[3][1]["args"] == {"incident_id": "inc_1"}
    assert found[-1][1]["steps"] == [found[1][1], found[3][1]]


def test_a_tool_error_fails_the_step_and_stops_the_plan():
    found = events(Step("triage_incident", {"incident_id": "missing"}),
                   Step("similar_incidents", {"incident_id": "x"}))
    done = found[-1][1]
    assert done["status"] == "failed"
    assert done["steps"][0]["error"] == {"code": "not_found", "message": "no incident missing",
                                         "fields": {"incident_id": ["unknown"]}}
    assert done["steps"][1]["status"] == "not_run"


def test_a_crashing_tool_is_a_failed_step_not_an_exception(caplog):
    done = events(Step("service_health", {}))[-1][1]
    assert done["steps"][0]["error"]["code"] == "internal_error" and "bug" not in str(done)
    assert "plan tool service_health crashed" in caplog.text


def test_an_optional_step_may_fail_or_be_skipped_without_failing_the_plan():
    done = events(Step("service_health", {}, optional=True),
                  Step("similar_incidents", {"incident_id": "$steps.0.nothing"}, optional=True),
                  Step("triage_incident", {"incident_id": "inc_2"}))[-1][1]
    assert [s["status"] for s in done["steps"]] == ["failed", "skipped", "ok"] and done["status"] == "succeeded"
