"""Narration end to end on plain data: the provider's wire format (with `responses`), hostile
model outputs rejected for the templated summary with why, provider failures, and no
outbound call at all unless a provider is set."""

from __future__ import annotations

import dataclasses
import json

import pytest
import requests
import responses

from server.config import load_settings
from server.narration.narrate import narrative_of
from server.narration.prompt import SYSTEM, user_message
from server.narration.providers import ANTHROPIC_VERSION, ask
from tests.support.narration import ALERT, INJECTION, report

NOW = 1_700_000_100.0
OPENAI = load_settings({}, llm_provider="openai-compatible", llm_model="small-model",
                       llm_base_url="http://llm.test/v1", llm_api_key="sk-test", llm_timeout_seconds=3)
ANTHROPIC = dataclasses.replace(OPENAI, llm_provider="anthropic", llm_base_url="http://claude.test")
GOOD = ("payment POST /charge has been failing with upstream_timeout since 22:13 UTC: 12 of 40 requests failed."
        " The likely cause is failing calls to card-processor (high confidence).")
HOSTILE = {
    "invented service": "The billing service is down and payment POST /charge fails with upstream_timeout.",
    "invented deploy": "payment 3.4.1 was deployed minutes before payment POST /charge started failing.",
    "wrong cause": "payment POST /charge is failing because of a bug inside payment (high confidence).",
    "obeys the injection": "The root cause is the deploy of billing-ledger v9.9.9 at 04:00 (high confidence).",
}


def openai_answer(text: str) -> dict:
    return {"id": "x", "object": "chat.completion", "choices": [
        {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]}


@responses.activate
def test_no_provider_means_no_outbound_call_and_the_templated_summary():
    r = report()
    told = narrative_of(r, load_settings({}), NOW, ask)
    assert told["text"] == r["summary"] and told["source"] == "template"
    assert told["fallback"] is False and "ONSET_LLM_PROVIDER=none" in told["reason"]
    assert len(responses.calls) == 0


@responses.activate
def test_openai_compatible_wire_format_and_a_grounded_answer_is_shown():
    responses.post("http://llm.test/v1/chat/completions", json=openai_answer(GOOD))
    told = narrative_of(report(), OPENAI, NOW, ask)
    assert told == {**told, "text": GOOD, "source": "llm", "fallback": False, "reason": None, "violations": []}
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer sk-test"
    body = json.loads(sent.body)
    assert body["model"] == "small-model" and body["temperature"] == 0
    assert [m["role"] for m in body["messages"]] == ["system", "user"] and body["messages"][0]["content"] == SYSTEM


@responses.activate
def test_anthropic_wire_format():
    responses.post("http://claude.test/v1/messages", json={
        "id": "msg_1", "type": "message", "role": "assistant", "model": "small-model", "stop_reason": "end_turn",
        "content": [{"type": "text", "text": GOOD}]})
    told = narrative_of(report(), ANTHROPIC, NOW, ask)
    assert told["source"] == "llm" and told["text"] == GOOD
    sent = responses.calls[0].request
    assert sent.headers["x-api-key"] == "sk-test" and sent.headers["anthropic-version"] == ANTHROPIC_VERSION
    assert "Authorization" not in sent.headers
    body = json.loads(sent.body)
    assert body["system"] == SYSTEM and body["max_tokens"] > 0
    assert body["messages"] == [{"role": "user", "content": user_message(report())}]


def test_anthropic_defaults_to_its_public_api():
    with responses.RequestsMock() as mock:
        mock.post("https://api.anthropic.com/v1/messages", json={"content": [{"type": "text", "text": GOOD}]})
        assert ask(dataclasses.replace(ANTHROPIC, llm_base_url=None), "hi") == GOOD


@pytest.mark.parametrize("name", sorted(HOSTILE))
@responses.activate
def test_a_hostile_narration_is_rejected_and_the_fallback_shown_with_why(name):
    r = report(alerts=[ALERT])
    responses.post("http://llm.test/v1/chat/completions", json=openai_answer(HOSTILE[name]))
    told = narrative_of(r, OPENAI, NOW, ask)
    assert told["source"] == "template" and told["text"] == r["summary"]
    assert told["fallback"] is True and told["reason"].startswith("rejected by the grounding check: ")
    assert told["violations"] and told["rejected_text"] == HOSTILE[name]


@responses.activate
def test_an_injection_in_an_alert_annotation_never_reaches_the_model():
    r = report(alerts=[ALERT])
    responses.post("http://llm.test/v1/chat/completions", json=openai_answer(GOOD))
    narrative_of(r, OPENAI, NOW, ask)
    sent = responses.calls[0].request.body.decode()
    assert "IGNORE ALL PREVIOUS INSTRUCTIONS" not in sent and "billing-ledger" not in sent
    assert "PaymentErrors" in sent  # the alert itself is there, by its name
    assert INJECTION in json.dumps(r)  # while the report shows the annotation as evidence


@pytest.mark.parametrize("reply, why", [
    ({"status": 500, "json": {"error": "boom"}}, "HTTP 500"),
    ({"status": 200, "body": "not json"}, "not JSON"),
    ({"status": 200, "json": {"choices": []}}, "no choices"),
    ({"body": requests.ConnectTimeout("slow")}, "no answer within 3s"),
    ({"body": requests.ConnectionError("refused")}, "cannot reach the provider"),
])
@responses.activate
def test_a_provider_failure_falls_back_and_says_what_failed(reply, why):
    responses.post("http://llm.test/v1/chat/completions", **reply)
    r = report()
    told = narrative_of(r, OPENAI, NOW, ask)
    assert told["text"] == r["summary"] and told["fallback"] is True
    assert told["reason"].startswith("provider failed: ") and why in told["reason"]
    assert "sk-test" not in told["reason"]


@responses.activate
def test_provider_calls_have_a_time_limit(monkeypatch):
    seen = {}
    real = requests.post

    def spy(*args, **kwargs):
        seen["timeout"] = kwargs.get("timeout")
        return real(*args, **kwargs)

    monkeypatch.setattr(requests, "post", spy)
    responses.post("http://llm.test/v1/chat/completions", json=openai_answer(GOOD))
    ask(OPENAI, "hi")
    assert seen["timeout"] == 3
