"""OTLP decoding (protobuf and JSON) and the span → wide event mapping, on the captured exports.

The captures (shared/fixtures/otlp, from the real OpenTelemetry Python SDK 1.45.2): one
checkout request api-gateway → checkout → payment, payment failing with a ConnectionError.
"""

from __future__ import annotations

import copy
import gzip
import json

import pytest

from server.errors import ValidationFailed
from server.ingest.otlp.decode import spans_from_json, spans_from_protobuf
from server.ingest.otlp.spans import events_of
from tests.support.alert_payloads import OTLP

TRACE = "1861ae1dde4e8ca417daee97f7816f2d"
GW_SERVER, GW_CLIENT = "f0098685105094a2", "0e7f8ba3364abefa"
CO_SERVER, CO_CLIENT = "5ac5b93a06d66e33", "f442b023926a5271"
PAY_SERVER = "3d598bf06e8397d2"

# The events the capture maps to, in the capture's span order (fields that matter per span).
EXPECTED = [
    {"service": "api-gateway", "kind": "dependency", "peer": "checkout", "step": "checkout POST", "status": "error",
     "error_code": "502", "span_id": GW_CLIENT, "parent_span_id": GW_SERVER},
    {"service": "api-gateway", "kind": "request", "peer": None, "step": "POST /checkout", "status": "error",
     "error_code": "502", "span_id": GW_SERVER, "parent_span_id": None},
    {"service": "checkout", "kind": "dependency", "peer": "payment", "step": "payment POST", "status": "error",
     "error_code": "502", "span_id": CO_CLIENT, "parent_span_id": CO_SERVER},
    {"service": "checkout", "kind": "request", "peer": None, "step": "POST /orders", "status": "error",
     "error_code": "502", "span_id": CO_SERVER, "parent_span_id": GW_CLIENT},
    {"service": "payment", "kind": "request", "peer": None, "step": "POST /charge", "status": "error",
     "error_code": "ConnectionError", "span_id": PAY_SERVER, "parent_span_id": CO_CLIENT},
]
VERSIONS = {"api-gateway": "1.4.0", "checkout": "2.7.1", "payment": "3.2.0"}


def fixture_bytes(name: str) -> bytes:
    return (OTLP / name).read_bytes()


def fixture_json() -> dict:
    return json.loads(fixture_bytes("checkout-502.json"))


def summary(item: dict) -> dict:
    return {k: item.get(k) for k in EXPECTED[0]}


def test_json_capture_maps_to_the_expected_events():
    mapped = events_of(spans_from_json(fixture_bytes("checkout-502.json")))
    assert mapped.problems == [] and mapped.skipped == 0
    assert [summary(i) for i in mapped.items] == EXPECTED
    for item in mapped.items:
        assert item["trace_id"] == TRACE
        assert item["env"] == "prod"  # deployment.environment.name
        assert item["version"] == VERSIONS[item["service"]]
        assert item["ts"] == pytest.approx(1795361929.437, abs=0.001)
        assert 0 < item["duration_ms"] < 1
    payment = mapped.items[-1]
    assert payment["user_id"] == "user-4711"
    assert payment["attributes"]["exception.type"] == "ConnectionError"
    assert payment["attributes"]["exception.message"] == "PMT_502: upstream card processor returned 502"
    assert "Traceback" in payment["attributes"]["exception.stacktrace"]
    assert payment["attributes"]["http.response.status_code"] == 502
    assert payment["attributes"]["otel.status_message"] == "PMT_502"
    assert payment["duration_ms"] == pytest.approx((1795361929437919866 - 1795361929437507305) / 1e6)


def test_protobuf_captures_map_to_the_same_events_as_the_json_one():
    items = []
    for service in ("api-gateway", "checkout", "payment"):
        items += events_of(spans_from_protobuf(fixture_bytes(f"checkout-502.{service}.pb"))).items
    from_json = events_of(spans_from_json(fixture_bytes("checkout-502.json"))).items
    assert sorted(items, key=lambda i: i["span_id"]) == sorted(from_json, key=lambda i: i["span_id"])


def test_json_ids_are_read_as_hex_not_base64():
    spans = spans_from_json(fixture_bytes("checkout-502.json"))
    assert {s.trace_id for s in spans} == {TRACE}
    pb = spans_from_protobuf(fixture_bytes("checkout-502.payment.pb"))[0]
    assert pb.trace_id == TRACE and pb.span_id == PAY_SERVER and pb.parent_span_id == CO_CLIENT


def test_gzipped_capture_decodes_after_decompression():
    spans = spans_from_protobuf(gzip.decompress(fixture_bytes("checkout-502.payment.pb.gz")))
    (item,) = events_of(spans).items
    assert item["service"] == "payment" and item["error_code"] == "ConnectionError"
    assert item["trace_id"] == "1a1bc36bac40909e03c9f591324799b9"


def test_int64_as_numbers_and_enums_by_name_and_unknown_fields_are_accepted():
    body = fixture_json()
    for rs in body["resourceSpans"]:
        rs["futureField"] = {"x": 1}
        for ss in rs["scopeSpans"]:
            for s in ss["spans"]:
                s["startTimeUnixNano"] = int(s["startTimeUnixNano"])  # as Node sends them
                s["endTimeUnixNano"] = int(s["endTimeUnixNano"])
                s["kind"] = {2: "SPAN_KIND_SERVER", 3: "SPAN_KIND_CLIENT"}[s["kind"]]
                s["somethingNew"] = [1, 2]
    mapped = events_of(spans_from_json(json.dumps(body).encode()))
    assert [summary(i) for i in mapped.items] == EXPECTED


def test_empty_bodies_are_empty_requests():
    assert spans_from_protobuf(b"") == []
    assert spans_from_json(b"") == []
    assert spans_from_json(b"{}") == []


@pytest.mark.parametrize("body", [
    fixture_bytes("checkout-502.payment.pb")[:-9],  # cut off
    b"\x0a\xff\xff\xff\xff\x0f",  # a length beyond the body
    b"\xff\xff\xff\xff",  # no valid field
])
def test_corrupted_protobuf_is_undecodable(body):
    with pytest.raises(ValidationFailed) as caught:
        spans_from_protobuf(body)
    assert caught.value.fields == {"body": ["undecodable protobuf"]}


@pytest.mark.parametrize(("body", "field"), [
    (b"{not json", "body"),
    (b"[]", "body"),
    (b'{"resourceSpans": {}}', "resourceSpans"),
    (b'{"resourceSpans": [1]}', "resourceSpans"),
    (b'{"resourceSpans": [{"scopeSpans": [{"spans": 5}]}]}', "spans"),
])
def test_malformed_otlp_json_is_a_validation_error_naming_the_field(body, field):
    with pytest.raises(ValidationFailed) as caught:
        spans_from_json(body)
    assert field in caught.value.fields


def test_a_span_with_bad_ids_is_a_problem_and_its_neighbours_are_kept():
    body = fixture_json()
    spans = body["resourceSpans"][0]["scopeSpans"][0]["spans"]
    spans[0]["traceId"] = "AAECAwQFBgcICQoLDA0ODw=="  # base64: not what OTLP/JSON sends
    spans.append("not a span")
    spans.append({**spans[1], "spanId": "00" * 8})
    mapped = events_of(spans_from_json(json.dumps(body).encode()))
    assert len(mapped.items) == 4
    assert [why for _, why in mapped.problems] == [
        "traceId must be a hex string", "a span must be a JSON object",
        "spanId must be 8 bytes (16 hex characters), not all zero"]


def _span(span_id: str, parent: str | None, kind: int, name: str, **attributes) -> dict:
    attrs = [{"key": k, "value": {"intValue": str(v)} if isinstance(v, int) else {"stringValue": v}}
             for k, v in attributes.items()]
    span = {"traceId": TRACE, "spanId": span_id, "name": name, "kind": kind, "startTimeUnixNano": "1795361929000000000",
            "endTimeUnixNano": "1795361929100000000", "attributes": attrs}
    if parent:
        span["parentSpanId"] = parent
    return span


def _export(*spans, **resource) -> bytes:
    attrs = [{"key": k, "value": {"stringValue": v}} for k, v in
             {"service.name": "orders", **resource}.items()]
    return json.dumps({"resourceSpans": [{"resource": {"attributes": attrs},
                                          "scopeSpans": [{"spans": list(spans)}]}]}).encode()


def test_internal_spans_are_not_events_and_their_children_point_past_them():
    body = _export(
        _span("a" * 16, None, 2, "GET /orders/{id}", **{"http.route": "/orders/{id}", "http.request.method": "GET"}),
        _span("b" * 16, "a" * 16, 1, "load order"),
        _span("c" * 16, "b" * 16, 1, "query"),
        _span("d" * 16, "c" * 16, 3, "SELECT orders", **{"db.system": "postgresql"}),
    )
    mapped = events_of(spans_from_json(body))
    assert mapped.skipped == 2
    assert [(i["kind"], i["step"], i.get("parent_span_id"), i.get("peer")) for i in mapped.items] == [
        ("request", "GET /orders/{id}", None, None),
        ("dependency", "SELECT orders", "a" * 16, "postgresql"),
    ]


def test_a_call_out_fails_on_4xx_a_request_only_on_5xx():
    body = _export(
        _span("a" * 16, None, 2, "GET /x", **{"http.response.status_code": 404}),
        _span("b" * 16, "a" * 16, 3, "GET", **{"http.response.status_code": 404, "peer.service": "users"}),
        _span("c" * 16, "a" * 16, 3, "GET", **{"http.status_code": 503, "net.peer.name": "legacy"}),
    )
    items = events_of(spans_from_json(body)).items
    assert [(i["status"], i.get("error_code"), i["step"]) for i in items] == [
        ("ok", None, "GET /x"), ("error", "404", "users GET"), ("error", "503", "legacy GET")]


def test_error_code_falls_back_to_the_status_message_then_unknown():
    with_message = _span("a" * 16, None, 2, "consume")
    with_message["status"] = {"code": 2, "message": "poison message"}
    bare = _span("b" * 16, None, 5, "consume")
    bare["status"] = {"code": "STATUS_CODE_ERROR"}
    items = events_of(spans_from_json(_export(with_message, bare))).items
    assert [(i["status"], i.get("error_code")) for i in items] == [("error", "poison message"), ("error", None)]


def test_older_resource_keys_and_missing_service_name():
    body = json.loads(_export(_span("a" * 16, None, 2, "job"), **{"deployment.environment": "staging"}))
    (item,) = events_of(spans_from_json(json.dumps(body).encode())).items
    assert item["env"] == "staging"
    body["resourceSpans"][0]["resource"] = {}
    (item,) = events_of(spans_from_json(json.dumps(body).encode())).items
    assert item["service"] == "unknown_service" and "env" not in item


def test_a_call_out_without_any_peer_attribute_names_an_unknown_peer():
    (item,) = events_of(spans_from_json(_export(_span("a" * 16, None, 3, "call")))).items
    assert item["kind"] == "dependency" and item["peer"] == "unknown"


def test_oversized_attributes_are_trimmed_to_fit_an_event():
    huge = {f"k{i}": "v" * 1500 for i in range(30)}
    (item,) = events_of(spans_from_json(_export(_span("a" * 16, None, 2, "GET /x", **huge)))).items
    assert len(json.dumps(item["attributes"])) <= 16 * 1024
    assert item["attributes"]["otel.kind"] == "server"


def test_resource_is_shared_not_copied_per_span():
    body = copy.deepcopy(fixture_json())
    spans = spans_from_json(json.dumps(body).encode())
    assert spans[0].resource is spans[1].resource
