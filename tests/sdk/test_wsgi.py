"""One wide event per request: the WSGI middleware and the Flask integration."""

from __future__ import annotations

import onset_sdk
import pytest
from flask import Flask, abort
from onset_sdk import OnsetMiddleware
from werkzeug.test import Client
from werkzeug.wrappers import Response

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE}-{PARENT}-01"


class PaymentDeclined(Exception):
    pass


def shop_app() -> Flask:
    app = Flask("shop")

    @app.post("/orders/<int:order_id>")
    def order(order_id: int):
        onset_sdk.current_event()["cart_size"] = 3
        return {"id": order_id}

    @app.get("/boom")
    def boom():
        raise PaymentDeclined("card refused")

    @app.get("/explicit")
    def explicit():
        onset_sdk.set_error_code("stock_unavailable")
        raise KeyError("sku")

    @app.get("/unavailable")
    def unavailable():
        abort(503)

    @app.get("/teapot")
    def teapot():
        return "no", 418

    @app.get("/degraded")
    def degraded():
        onset_sdk.set_error_code("served_stale")
        return "stale but fine"

    return onset_sdk.instrument_flask(app)


def only_request(recorded) -> dict:
    events = recorded.requests()
    assert len(events) == 1, events
    return events[0]


def test_step_is_the_route_template_not_the_raw_path(recorded):
    shop_app().test_client().post("/orders/12345")
    event = only_request(recorded)
    assert event["step"] == "POST /orders/<int:order_id>"
    assert (event["service"], event["env"], event["version"], event["kind"]) == ("shop", "test", "1.0", "request")
    assert event["status"] == "ok" and "error_code" not in event
    assert event["attributes"]["http.status_code"] == 200


def test_handler_fields_ride_along_on_the_event(recorded):
    shop_app().test_client().post("/orders/1")
    assert only_request(recorded)["cart_size"] == 3


def test_exception_type_is_the_error_code(recorded):
    response = shop_app().test_client().get("/boom")
    assert response.status_code == 500
    event = only_request(recorded)
    assert event["status"] == "error"
    assert event["error_code"] == "tests.sdk.test_wsgi.PaymentDeclined"


def test_explicit_error_code_wins_over_the_exception(recorded):
    shop_app().test_client().get("/explicit")
    assert only_request(recorded)["error_code"] == "stock_unavailable"


def test_http_status_is_the_error_code_when_nothing_else_says(recorded):
    shop_app().test_client().get("/unavailable")
    event = only_request(recorded)
    assert (event["status"], event["error_code"]) == ("error", "http_503")


def test_a_4xx_is_the_callers_mistake_not_an_error(recorded):
    shop_app().test_client().get("/teapot")
    assert only_request(recorded)["status"] == "ok"


def test_an_explicit_error_code_marks_even_a_200_failed(recorded):
    shop_app().test_client().get("/degraded")
    event = only_request(recorded)
    assert (event["status"], event["error_code"]) == ("error", "served_stale")


def test_unmatched_route_has_a_bounded_step(recorded):
    shop_app().test_client().get("/no/such/page/42")
    assert only_request(recorded)["step"] == "GET <unmatched>"


def test_traceparent_is_read_and_the_request_gets_its_own_span(recorded):
    client = shop_app().test_client()
    client.post("/orders/1", headers={"traceparent": TRACEPARENT})
    client.post("/orders/2", headers={"traceparent": TRACEPARENT})
    first, second = recorded.requests()
    assert first["trace_id"] == second["trace_id"] == TRACE
    assert first["parent_span_id"] == PARENT
    assert first["span_id"] != second["span_id"] and len(first["span_id"]) == 16


@pytest.mark.parametrize("header", ["garbage", f"00-{'0' * 32}-{PARENT}-01", f"ff-{TRACE}-{PARENT}-01",
                                    f"00-{TRACE.upper()}-{PARENT}-01-extra"])
def test_bad_traceparent_starts_a_new_trace(recorded, header):
    shop_app().test_client().post("/orders/1", headers={"traceparent": header})
    event = only_request(recorded)
    assert event["trace_id"] != TRACE and len(event["trace_id"]) == 32
    assert "parent_span_id" not in event


def test_duration_is_measured(recorded):
    shop_app().test_client().post("/orders/1")
    assert 0 < only_request(recorded)["duration_ms"] < 1000


def test_user_id_hook_and_set_user_id():
    from tests.sdk.conftest import RecordingTransport

    transport = RecordingTransport()
    onset_sdk.init(service="shop", transport=transport, user_id=lambda environ: environ.get("HTTP_X_USER"))
    app = shop_app()

    @app.get("/me")
    def me():
        onset_sdk.set_user_id("explicit-user")
        return "hi"

    client = app.test_client()
    client.post("/orders/1", headers={"X-User": "u-17"})
    client.get("/me", headers={"X-User": "u-17"})
    assert [e.get("user_id") for e in transport.requests()] == ["u-17", "explicit-user"]


def test_a_failing_user_id_hook_does_not_break_the_request():
    from tests.sdk.conftest import RecordingTransport

    transport = RecordingTransport()
    onset_sdk.init(service="shop", transport=transport, user_id=lambda environ: 1 / 0)
    assert shop_app().test_client().post("/orders/1").status_code == 200
    assert "user_id" not in transport.requests()[0]


def test_current_event_outside_a_request_goes_nowhere(recorded):
    onset_sdk.current_event()["x"] = 1
    onset_sdk.set_error_code("nothing")
    assert recorded.events == []


def test_plain_wsgi_middleware_records_raised_exceptions(recorded):
    def app(environ, start_response):
        if environ["PATH_INFO"] == "/crash":
            raise ZeroDivisionError("oops")
        return Response("hello")(environ, start_response)

    client = Client(OnsetMiddleware(app))
    assert client.get("/hello").status_code == 200
    with pytest.raises(ZeroDivisionError):
        client.get("/crash")
    ok, crashed = recorded.requests()
    assert (ok["step"], ok["status"]) == ("GET /hello", "ok")
    assert (crashed["step"], crashed["status"], crashed["error_code"]) == ("GET /crash", "error", "ZeroDivisionError")


def test_instrumenting_twice_records_once(recorded):
    app = shop_app()
    onset_sdk.instrument_flask(app)
    app.test_client().post("/orders/1")
    assert len(recorded.requests()) == 1


def test_an_sdk_bug_never_reaches_the_app(recorded, swallow_internal_errors, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("bug in the SDK")

    monkeypatch.setattr("onset_sdk.wsgi.finish_request", broken)
    response = shop_app().test_client().post("/orders/1")
    assert response.status_code == 200
    assert [type(e[1]) for e in swallow_internal_errors] == [RuntimeError]
