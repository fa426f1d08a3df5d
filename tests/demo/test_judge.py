"""The driver's verdict on a scenario's incident (pure; no processes)."""

from __future__ import annotations

from demo.driver import judge
from demo.scenarios import SCENARIOS

PAYMENT = SCENARIOS["payment_502"]


def incident(cause: str = "dependency", service: str = "payment", step: str = "POST /charges",
             via: str | None = "card-processor", id: str = "inc_1") -> dict:
    return {"id": id, "cause": cause, "origin": {"service": service, "step": step, "via": via}}


def test_the_promised_incident_passes():
    assert judge(PAYMENT, incident(), [incident()]) == []


def test_no_incident_fails():
    assert judge(PAYMENT, None, []) == ["no incident was opened"]


def test_a_wrong_cause_fails():
    assert judge(PAYMENT, incident(cause="app"), [incident()]) == ["cause is app, expected dependency"]


def test_a_wrong_origin_fails():
    problems = judge(PAYMENT, incident(service="checkout", step="POST /checkout", via="payment"), [incident()])
    assert problems == ["origin is checkout POST /checkout via payment,"
                        " expected payment POST /charges via card-processor"]


def test_a_second_incident_for_the_same_fault_fails():
    problems = judge(PAYMENT, incident(), [incident(), incident(id="inc_2", cause="app")])
    assert problems == ["expected exactly one incident, got 2: inc_1 (dependency), inc_2 (app)"]


def test_every_scenario_documents_why():
    for scenario in SCENARIOS.values():
        assert scenario.expected_cause in scenario.why and scenario.expected_service in scenario.why
