"""Hypothesis against the parsers of every sender: whatever arrives, the answer is a record or
field errors (or a ValidationFailed / PayloadTooLarge for the whole body), never another
exception, and every error message is JSON-ready text."""

from __future__ import annotations

import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from server.errors import ApiError
from server.ingest.alerts import SOURCES, detect_source, parse_alerts
from server.ingest.events import EventRecord, validate_event
from server.ingest.heartbeats import HeartbeatSchema
from server.ingest.otlp.decode import spans_from_json, spans_from_protobuf
from server.ingest.otlp.spans import events_of
from server.ingest.signals import validate_deploy, validate_signal
from server.store.alerts import AlertRecord
from server.store.signals import SignalRecord

NOW = 1_790_000_000.0
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats(allow_nan=True) | st.text(max_size=40)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4)
                           | st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)


def shaped(keys: list[str], values=json_values):
    """Objects made mostly of the keys a parser looks for, with any values."""
    return st.dictionaries(st.sampled_from(keys) | st.text(max_size=8), values, max_size=len(keys) + 2)


TIMES = st.one_of(st.floats(0, 2e9), st.sampled_from(["2026-11-01T10:00:00Z", "0001-01-01T00:00:00Z",
                                                       "2026-11-01T10:00:00.123456+05:30", "yesterday", ""]))
EVENT_KEYS = ["ts", "service", "env", "version", "kind", "peer", "step", "status", "error_code", "duration_ms",
              "trace_id", "span_id", "parent_span_id", "user_id", "attributes"]
SIGNAL_KEYS = ["type", "service", "env", "source", "reason", "message", "ts", "attributes", "signal_id",
               "received_at", "version", "commit", "pr_url", "author"]
ALERT_KEYS = ["status", "labels", "annotations", "startsAt", "endsAt", "fingerprint", "generatorURL", "name",
              "service", "starts_at", "ends_at", "links", "trace_id", "values", "silenceURL"]


def assert_field_errors(errors) -> None:
    assert isinstance(errors, dict) and errors
    orjson.dumps(errors)  # the JSON error shape must be able to carry them


@FUZZ
@given(st.one_of(json_values, shaped(EVENT_KEYS), shaped(EVENT_KEYS, scalars | TIMES)))
def test_an_event_of_any_shape_is_a_record_or_field_errors(item):
    result = validate_event(item, NOW, 300)
    if not isinstance(result, EventRecord):
        assert_field_errors(result)


@FUZZ
@given(st.one_of(json_values, shaped(SIGNAL_KEYS), shaped(SIGNAL_KEYS, scalars | TIMES)))
def test_a_signal_or_deploy_of_any_shape_is_a_record_or_field_errors(item):
    for validate in (validate_signal, validate_deploy):
        result = validate(item, NOW, 300)
        if not isinstance(result, SignalRecord):
            assert_field_errors(result)


def _group(alerts):
    return st.fixed_dictionaries({"version": st.sampled_from(["4", "1", 4]), "status": json_values,
                                  "groupKey": json_values, "truncatedAlerts": json_values, "alerts": alerts},
                                 optional={"orgId": json_values, "externalURL": json_values})


ALERT_BODIES = st.one_of(
    json_values,
    _group(st.lists(shaped(ALERT_KEYS, scalars | TIMES | st.dictionaries(st.text(max_size=6), scalars)),
                    max_size=4)),
    st.fixed_dictionaries({"event": shaped(["event_type", "resource_type", "occurred_at", "data", "id"])}),
    st.fixed_dictionaries({"alerts": st.lists(shaped(ALERT_KEYS, scalars | TIMES), max_size=4)}),
)


@FUZZ
@given(ALERT_BODIES, st.sampled_from(SOURCES))
def test_an_alert_body_from_any_sender_parses_to_records_and_rejections_or_a_validation_error(payload, source):
    for sender in (source, detect_source(payload)):
        try:
            parsed = parse_alerts(payload, sender, NOW, lambda fingerprint, firing_only: None, 100)
        except ApiError as exc:
            assert 400 <= exc.status < 500
            orjson.dumps(exc.fields)
            continue
        assert all(isinstance(r, AlertRecord) for r in parsed.records)
        orjson.dumps(parsed.rejected)


@FUZZ
@given(st.binary(max_size=300))
def test_any_bytes_as_otlp_protobuf_decode_or_are_refused_as_bad_input(body):
    try:
        spans = spans_from_protobuf(body)
    except ApiError as exc:
        assert exc.status == 400
        return
    mapped = events_of(spans)
    for item in mapped.items:
        result = validate_event(item, NOW, 300)
        assert isinstance(result, EventRecord | dict)


OTLP_JSON = st.fixed_dictionaries({"resourceSpans": st.lists(st.fixed_dictionaries({
    "resource": st.fixed_dictionaries({"attributes": st.lists(shaped(["key", "value"]), max_size=3)}),
    "scopeSpans": st.lists(st.fixed_dictionaries({"spans": st.lists(shaped(
        ["traceId", "spanId", "parentSpanId", "name", "kind", "startTimeUnixNano", "endTimeUnixNano",
         "status", "attributes", "events"]), max_size=3)}), max_size=2),
}), max_size=2)})


@FUZZ
@given(st.one_of(json_values, OTLP_JSON))
def test_any_otlp_json_decodes_or_is_refused_as_bad_input(payload):
    try:
        spans = spans_from_json(orjson.dumps(payload, option=orjson.OPT_NON_STR_KEYS))
    except ApiError as exc:
        assert exc.status == 400
        return
    except orjson.JSONEncodeError:
        return  # not JSON at all (too deep to write): nothing a sender could send
    events_of(spans)


@FUZZ
@given(st.one_of(json_values, shaped(["source", "interval_s", "after"], scalars)))
def test_a_heartbeat_of_any_shape_loads_or_names_its_bad_fields(payload):
    if not isinstance(payload, dict):
        return  # record_beat refuses non-objects before the schema
    try:
        HeartbeatSchema().load(payload)
    except ValidationError as exc:
        assert_field_errors(exc.messages_dict)
