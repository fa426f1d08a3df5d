"""POST /v1/traces: the captured OTLP exports (protobuf, gzip, JSON) become wide events; the
answers follow the OTLP spec (200 + ExportTraceServiceResponse in the request's content
type, partial success, 400 for undecodable bodies, 503 + Retry-After when overloaded)."""

from __future__ import annotations

import dataclasses
import json

import peewee
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

import server.ingest.otlp as otlp_ingest
from server.app import create_app
from server.store import db
from tests.support.alert_payloads import OTLP
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import forget_seen_versions

PB = "application/x-protobuf"
JSON = "application/json"
TRACE = "1861ae1dde4e8ca417daee97f7816f2d"


def fixture(name: str) -> bytes:
    return (OTLP / name).read_bytes()


def events() -> list[tuple]:
    return db.fetchall("SELECT service, kind, step, status, error_code, span_id FROM events ORDER BY ts, span_id")


@pytest.fixture
def ingest(auth) -> dict[str, str]:
    return auth("ingest")


def export(client, headers, data: bytes, content_type: str = PB, **extra):
    return client.post("/v1/traces", data=data, headers={**headers, "Content-Type": content_type, **extra})


def test_protobuf_exports_become_events_and_a_cross_service_path(client, ingest, auth):
    for service in ("api-gateway", "checkout", "payment"):
        response = export(client, ingest, fixture(f"checkout-502.{service}.pb"))
        assert response.status_code == 200, response.get_data(as_text=True)
        assert response.content_type == PB
        assert ExportTraceServiceResponse.FromString(response.data) == ExportTraceServiceResponse()
    assert len(events()) == 5
    story = client.get(f"/v1/traces/{TRACE}", headers=auth("read")).get_json()
    assert story["services"] == ["api-gateway", "checkout", "payment"]
    assert [(s["depth"], s["service"], s["kind"]) for s in story["spans"]] == [
        (0, "api-gateway", "request"), (1, "api-gateway", "dependency"), (2, "checkout", "request"),
        (3, "checkout", "dependency"), (4, "payment", "request")]
    assert story["summary"] == "api-gateway → checkout → payment ✗ (ConnectionError)"
    origin = next(s for s in story["spans"] if s["first_failure"])
    assert origin["exception"]["type"] == "ConnectionError" and origin["user_id"] == "user-4711"


def test_gzipped_protobuf_export_is_decompressed(client, ingest):
    response = export(client, ingest, fixture("checkout-502.payment.pb.gz"), **{"Content-Encoding": "gzip"})
    assert response.status_code == 200
    assert [(e[0], e[4]) for e in events()] == [("payment", "ConnectionError")]


def test_json_export_answers_json_and_stores_the_same_events(client, ingest):
    response = export(client, ingest, fixture("checkout-502.json"), JSON)
    assert response.status_code == 200 and response.content_type == JSON
    assert response.get_json() == {}
    assert sorted(e[5] for e in events()) == sorted(
        ["0e7f8ba3364abefa", "f0098685105094a2", "f442b023926a5271", "5ac5b93a06d66e33", "3d598bf06e8397d2"])


def test_some_bad_spans_answer_partial_success_in_either_content_type(client, ingest):
    body = json.loads(fixture("checkout-502.json"))
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "xyz"
    spans[1]["startTimeUnixNano"] = str(int(9e18))  # centuries ahead: the event's ts is refused
    response = export(client, ingest, json.dumps(body).encode(), JSON)
    assert response.status_code == 200
    partial = response.get_json()["partialSuccess"]
    assert partial["rejectedSpans"] == "2"
    assert "traceId must be a hex string" in partial["errorMessage"] and "ts:" in partial["errorMessage"]
    assert len(events()) == 3


def test_partial_success_in_protobuf(client, ingest):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    request = ExportTraceServiceRequest.FromString(fixture("checkout-502.api-gateway.pb"))
    request.resource_spans[0].scope_spans[0].spans[0].trace_id = b"\x00" * 16
    response = export(client, ingest, request.SerializeToString())
    answer = ExportTraceServiceResponse.FromString(response.data)
    assert response.status_code == 200 and answer.partial_success.rejected_spans == 1
    assert "traceId" in answer.partial_success.error_message
    assert len(events()) == 1


def test_corrupted_protobuf_is_400_stores_nothing_and_the_server_keeps_serving(client, ingest):
    corrupted = fixture("checkout-502.payment.pb")[:-9]
    response = export(client, ingest, corrupted)
    error = assert_error_shape(response, 400, "body")
    assert "protobuf" in error["message"]
    assert events() == []
    assert export(client, ingest, fixture("checkout-502.payment.pb")).status_code == 200
    assert len(events()) == 1


def test_empty_protobuf_body_is_a_valid_empty_export(client, ingest):
    response = export(client, ingest, b"")
    assert response.status_code == 200 and response.data == b""
    assert events() == []


@pytest.mark.parametrize(("data", "content_type", "headers", "status", "field"), [
    (b"{}", "text/plain", {}, 415, "Content-Type"),
    (b"\x1f\x8bnope", PB, {"Content-Encoding": "gzip"}, 400, "body"),
    (b"{nope", JSON, {}, 400, "body"),
    (b'{"resourceSpans": 3}', JSON, {}, 400, "resourceSpans"),
    (b"{}", JSON, {"Content-Encoding": "br"}, 415, "Content-Encoding"),
])
def test_bad_bodies_get_the_error_shape(client, ingest, data, content_type, headers, status, field):
    assert_error_shape(export(client, ingest, data, content_type, **headers), status, field)


def test_body_over_the_cap_after_decompression_is_413(store, make_key):
    small = create_app(dataclasses.replace(store, max_body_bytes=600)).test_client()
    headers = {"Authorization": f"Bearer {make_key('ingest')}"}
    # 633 bytes gzipped, 938 once inflated.
    response = export(small, headers, fixture("checkout-502.payment.pb.gz"), **{"Content-Encoding": "gzip"})
    assert_error_shape(response, 413, "body")


def test_export_needs_an_ingest_key(client, auth):
    assert_error_shape(export(client, {}, fixture("checkout-502.payment.pb")), 401)
    assert_error_shape(export(client, auth("read"), fixture("checkout-502.payment.pb")), 403, "scope")


def test_a_new_service_version_in_spans_registers_a_deploy(client, ingest, auth):
    forget_seen_versions()
    assert export(client, ingest, fixture("checkout-502.payment.pb")).status_code == 200
    body = json.loads(fixture("checkout-502.json"))
    payment = body["resourceSpans"][2]
    for attribute in payment["resource"]["attributes"]:
        if attribute["key"] == "service.version":
            attribute["value"]["stringValue"] = "3.3.0"
    body["resourceSpans"] = [payment]
    assert export(client, ingest, json.dumps(body).encode(), JSON).status_code == 200
    signals = client.get("/v1/signals?type=deploy", headers=auth("read")).get_json()["signals"]
    assert [(s["service"], s["source"], s["attributes"]["version"], s["attributes"]["previous_version"])
            for s in signals] == [("payment", "onset.auto", "3.3.0", "3.2.0")]


def test_busy_database_answers_503_with_retry_after(client, ingest, monkeypatch):
    def locked(*args, **kwargs):
        raise peewee.OperationalError("database is locked")

    monkeypatch.setattr(otlp_ingest, "ingest_events", locked)
    response = export(client, ingest, fixture("checkout-502.payment.pb"))
    assert response.status_code == 503 and response.headers["Retry-After"].isdigit()
