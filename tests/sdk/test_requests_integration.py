"""Outgoing `requests` calls: traceparent propagated, one dependency event per call."""

from __future__ import annotations

import onset_sdk
import pytest
import requests
import responses
from flask import Flask
from onset_sdk.trace import parse_traceparent


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def checkout_app(url: str) -> Flask:
    app = Flask("checkout")

    @app.post("/checkout")
    def checkout():
        response = requests.post(url, json={"amount": 10}, timeout=2)
        return {"upstream": response.status_code}

    return onset_sdk.instrument_flask(app)


def test_call_inside_a_request_is_its_child_and_propagates_traceparent(recorded, mocked):
    mocked.post("https://payment.internal:8443/charges", json={"ok": True})
    checkout_app("https://payment.internal:8443/charges").test_client().post("/checkout")
    (request,), (call,) = recorded.requests(), recorded.dependencies()
    assert call["trace_id"] == request["trace_id"]
    assert call["parent_span_id"] == request["span_id"]
    sent = mocked.calls[0].request.headers["traceparent"]
    # The callee's request span becomes a child of the call's span.
    assert parse_traceparent(sent) == (request["trace_id"], call["span_id"])


def test_peer_is_the_mapped_service_name(recorded, mocked):
    mocked.post("https://payment.internal:8443/charges", json={})
    checkout_app("https://payment.internal:8443/charges").test_client().post("/checkout")
    call = recorded.dependencies()[0]
    assert (call["kind"], call["peer"], call["step"], call["status"]) == ("dependency", "payment", "POST payment", "ok")
    assert call["attributes"] == {"url.path": "/charges", "http.status_code": 200}
    assert call["duration_ms"] >= 0


def test_a_host_maps_whatever_its_port(recorded, mocked):
    mocked.get("https://card.example/v1/ping")
    requests.get("https://card.example/v1/ping", timeout=2)
    assert recorded.dependencies()[0]["peer"] == "card-processor"


def test_unknown_callee_is_named_by_host_and_port(recorded, mocked):
    mocked.get("http://user:pw@10.1.2.3:5003/stock/sku-1")
    requests.get("http://user:pw@10.1.2.3:5003/stock/sku-1", timeout=2)
    assert recorded.dependencies()[0]["peer"] == "10.1.2.3:5003"


@pytest.mark.parametrize(("status", "code"), [(502, "http_502"), (404, "http_404")])
def test_a_failed_call_is_an_error_of_the_call(recorded, mocked, status, code):
    mocked.post("https://payment.internal:8443/charges", status=status)
    checkout_app("https://payment.internal:8443/charges").test_client().post("/checkout")
    call = recorded.dependencies()[0]
    assert (call["status"], call["error_code"]) == ("error", code)
    # The request itself answered 200: whether the call's failure fails it is the handler's business.
    assert recorded.requests()[0]["status"] == "ok"


def test_a_call_that_raises_records_the_exception_and_still_raises(recorded, mocked):
    mocked.get("https://payment.internal:8443/health", body=requests.ConnectTimeout("slow"))
    with pytest.raises(requests.ConnectTimeout):
        requests.get("https://payment.internal:8443/health", timeout=2)
    call = recorded.dependencies()[0]
    assert (call["status"], call["error_code"]) == ("error", "requests.exceptions.ConnectTimeout")


def test_a_call_outside_a_request_starts_its_own_trace(recorded, mocked):
    mocked.get("https://card.example/v1/ping")
    requests.get("https://card.example/v1/ping", timeout=2)
    call = recorded.dependencies()[0]
    assert len(call["trace_id"]) == 32 and "parent_span_id" not in call


def test_calls_to_onset_itself_are_not_recorded(mocked):
    from tests.sdk.conftest import RecordingTransport

    transport = RecordingTransport()
    onset_sdk.init(service="shop", url="http://onset.local:8080", transport=transport)
    mocked.get("http://onset.local:8080/v1/incidents", json={"incidents": []})
    requests.get("http://onset.local:8080/v1/incidents", timeout=2)
    assert transport.events == []
    assert "traceparent" not in mocked.calls[0].request.headers


def test_shutdown_restores_requests(mocked):
    from tests.sdk.conftest import RecordingTransport

    original = requests.Session.send
    onset_sdk.init(service="shop", transport=RecordingTransport())
    assert requests.Session.send is not original
    onset_sdk.shutdown()
    assert requests.Session.send is original


def test_instrument_requests_false_leaves_requests_alone():
    from tests.sdk.conftest import RecordingTransport

    original = requests.Session.send
    onset_sdk.init(service="shop", transport=RecordingTransport(), instrument_requests=False)
    assert requests.Session.send is original
