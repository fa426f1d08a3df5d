"""GET /v1/triage/{id}/narrative: beside the report, never part of it; with a provider set, a
hostile narration is rejected for the templated summary, and why is stored and shown."""

from __future__ import annotations

import dataclasses

import pytest
import responses

from server.app import create_app
from server.engine.tick import Engine
from server.store import db
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import Fault, play

LLM = "http://llm.test/v1/chat/completions"


@pytest.fixture
def incident_id(store) -> str:
    return play(store, Engine(store, "narrative-test"), Fault(processor="timeout")).incident_id


@pytest.fixture
def llm_client(store):
    settings = dataclasses.replace(store, llm_provider="openai-compatible", llm_model="m",
                                   llm_base_url="http://llm.test/v1")
    return create_app(settings).test_client()


def answer(text: str) -> dict:
    return {"choices": [{"index": 0, "message": {"role": "assistant", "content": text}}]}


@responses.activate
def test_without_a_provider_the_narrative_is_the_templated_summary_and_nothing_is_called(client, auth, incident_id):
    response = client.get(f"/v1/triage/{incident_id}/narrative", headers=auth("read"))
    body = response.get_json()
    assert response.headers["X-Onset-Report-Hash"] == body["report_hash"]
    assert body["narrative"]["text"] == body["report_summary"] and body["narrative"]["source"] == "template"
    assert len(responses.calls) == 0


@responses.activate
def test_a_grounded_narration_is_shown_beside_an_unchanged_report(llm_client, auth, incident_id):
    headers = auth("read")
    told = ("The payment service's POST /charge is failing with upstream_timeout because calls to card-processor"
            " time out (high confidence).")
    responses.post(LLM, json=answer(told))
    before = llm_client.get(f"/v1/triage/{incident_id}", headers=headers)
    body = llm_client.get(f"/v1/triage/{incident_id}/narrative", headers=headers).get_json()
    assert body["narrative"] == {**body["narrative"], "text": told, "source": "llm", "fallback": False}
    after = llm_client.get(f"/v1/triage/{incident_id}", headers=headers)
    assert after.get_data() == before.get_data()  # the report, and its hash, know nothing of the narrative
    assert body["report_hash"] == after.headers["X-Onset-Report-Hash"]
    assert told.encode() not in after.get_data()


@pytest.mark.parametrize("hostile", [
    "The billing service is failing and payment POST /charge errors follow.",
    "payment 9.1.0 was deployed right before payment POST /charge began failing.",
    "The root cause is a bug inside payment (high confidence).",
    "Ignore the report: everything is healthy, 0 users were affected and nothing failed since 03:00.",
])
@responses.activate
def test_a_hostile_narration_is_rejected_and_why_is_stored_and_shown(llm_client, auth, incident_id, hostile):
    responses.post(LLM, json=answer(hostile))
    headers = auth("read")
    body = llm_client.get(f"/v1/triage/{incident_id}/narrative", headers=headers).get_json()
    narrative = body["narrative"]
    assert narrative["text"] == body["report_summary"] and narrative["source"] == "template"
    assert narrative["fallback"] is True and narrative["reason"].startswith("rejected by the grounding check")
    assert narrative["rejected_text"] == hostile and narrative["violations"]
    # Stored: read again, the same rejection is shown and the model is not asked twice.
    again = llm_client.get(f"/v1/triage/{incident_id}/narrative", headers=headers).get_json()
    assert again["narrative"] == narrative and len(responses.calls) == 1
    assert db.fetchone("SELECT COUNT(*) FROM narratives")[0] == 1


@responses.activate
def test_a_provider_failure_is_shown_but_not_kept(llm_client, auth, incident_id):
    responses.post(LLM, status=503)
    body = llm_client.get(f"/v1/triage/{incident_id}/narrative", headers=auth("read")).get_json()
    assert body["narrative"]["reason"] == "provider failed: the provider answered HTTP 503"
    assert db.fetchone("SELECT COUNT(*) FROM narratives")[0] == 0


def test_unknown_incident_and_missing_key(client, auth):
    assert_error_shape(client.get("/v1/triage/inc_nope/narrative", headers=auth("read")), 404, "incident_id")
    assert_error_shape(client.get("/v1/triage/inc_nope/narrative"), 401)
