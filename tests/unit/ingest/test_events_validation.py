"""Event validation: the fast path agrees with the marshmallow schema, and field errors name the field."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from marshmallow import ValidationError

from server.ingest.events import KNOWN, LIMITS, _fast, _finish, _schema, validate_event
from server.store.events import EventRecord
from tests.support.factories import nested

NOW = 1_700_000_000.0
SKEW = 300.0


def schema_path(item, now: float = NOW, skew: float = SKEW) -> EventRecord | dict:
    """What the marshmallow path alone makes of an item."""
    try:
        data = _schema.load(item)
    except ValidationError as exc:
        return exc.messages
    return _finish(data, now, skew)


def good(**fields) -> dict:
    return {"service": "checkout", "step": "POST /checkout", **fields}


def errors_of(item) -> dict:
    result = validate_event(item, NOW, SKEW)
    assert isinstance(result, dict), f"expected field errors, got {result}"
    return result


# -- the fast path is the schema, only faster -----------------------------------------------

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**53), 2**53),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=5), inner, max_size=3)), max_leaves=8)
identifier = st.from_regex(r"[0-9A-Za-z_.:-]{1,64}", fullmatch=True)


def text(cap: int) -> st.SearchStrategy:
    return st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=min(cap, 12))


# Values the schema accepts, and the edges just past them. Each field draws from the first
# most of the time, so that a good share of items is one the fast path takes.
VALID = {
    **{name: text(cap) for name, cap in LIMITS.items()},
    "kind": st.sampled_from(["request", "dependency"]),
    "status": st.sampled_from([None, "ok", "error"]),
    "ts": st.one_of(st.none(), st.floats(0, NOW), st.floats(NOW - SKEW, NOW + 2 * SKEW), st.integers(0, int(NOW))),
    "duration_ms": st.one_of(st.none(), st.floats(0, 1e9), st.integers(0, 10**9)),
    "trace_id": identifier, "span_id": identifier, "parent_span_id": identifier,
    "attributes": st.one_of(st.none(), st.dictionaries(st.text(max_size=8), json_values, max_size=4)),
}
EDGES = {
    **{name: st.sampled_from(["", "x" * (cap + 1), "a\x00b", None]) for name, cap in LIMITS.items()},
    "kind": st.sampled_from(["batch", "", None]),
    "status": st.sampled_from(["failed", ""]),
    "ts": st.sampled_from([NOW + SKEW, NOW + SKEW + 1, -1, 1e11, 2**70, "2023-11-14T22:13:20Z", "soon"]),
    "duration_ms": st.sampled_from([1e9 + 1, -1, -0.0, "12.5", 10**12]),
    "trace_id": st.sampled_from(["", "x" * 65, "abc\n", "has space", "ünï"]),
    "span_id": st.sampled_from(["", "x" * 65, "abc\n"]),
    "parent_span_id": st.sampled_from(["", "abc\n"]),
    "attributes": st.sampled_from([nested(254), nested(300), {"big": "x" * 17_000}, []]),
}


@st.composite
def event_items(draw) -> dict:
    """An event-like JSON object: known fields with mostly valid values, now and then an edge
    value, a value of the wrong JSON type, or an unknown field."""
    item = {}
    for name in sorted(KNOWN):
        if name in ("service", "step") or draw(st.booleans()):
            roll = draw(st.integers(0, 19))
            source = VALID[name] if roll < 17 else EDGES[name] if roll < 19 else json_values
            item[name] = draw(source)
    if draw(st.integers(0, 9)) == 0:
        item[draw(st.sampled_from(["team", "region", "signal_id"]))] = draw(json_values)
    return item


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(event_items())
@example(good(trace_id="abc\n"))
@example(good(service="a\x00b"))
@example(good(attributes=nested(300)))
@example(good(kind="dependency", peer="card-processor", status="error"))
@example(good(ts=-1))
@example(good(ts=NOW + SKEW + 1))
@example(good(duration_ms=1e9 + 1))
@example(good(env=None))
def test_fast_path_accepts_only_what_the_schema_accepts_and_builds_the_same_record(item):
    fast = _fast(item, NOW, SKEW)
    if fast is None:
        return  # the fast path declined; validate_event asks the schema
    assert fast == schema_path(item)


def test_fast_path_handles_ordinary_events():
    # The property above is only worth something if the fast path takes the usual events.
    items = [good(), good(ts=NOW - 5, status="error", error_code="E500", trace_id="t1", span_id="s1",
                          duration_ms=12, attributes={"region": "eu"}),
             good(kind="dependency", peer="card-processor", version="v2", user_id="u1", env="staging")]
    for item in items:
        fast = _fast(item, NOW, SKEW)
        assert isinstance(fast, EventRecord)
        assert fast == schema_path(item)


def test_defaults_and_derived_fields():
    record = validate_event({"service": "checkout", "step": "POST /checkout", "error_code": "E500"}, NOW, SKEW)
    assert isinstance(record, EventRecord)
    assert record.ts == NOW and record.received_at == NOW
    assert (record.env, record.kind, record.status) == ("production", "request", "error")
    assert validate_event(good(status="error"), NOW, SKEW).error_code == "unknown"
    assert validate_event(good(), NOW, SKEW).status == "ok"


def test_rfc3339_timestamps_are_read_as_epoch_seconds():
    record = validate_event(good(ts="2023-11-14T22:13:20Z"), NOW, SKEW)
    assert record.ts == 1_700_000_000.0


# -- field errors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("field", "value"), [
    ("service", 123), ("step", ["POST"]), ("env", None), ("version", 2), ("kind", "batch"),
    ("status", "failed"), ("error_code", {"code": 1}), ("duration_ms", "fast"), ("duration_ms", -1),
    ("ts", "yesterday"), ("ts", True), ("trace_id", 12), ("span_id", "has space"),
    ("user_id", 7), ("attributes", [1, 2]), ("attributes", "k=v"),
])
def test_wrong_types_and_values_name_the_field(field, value):
    assert field in errors_of(good(**{field: value}))


@pytest.mark.parametrize(("field", "cap"), sorted(LIMITS.items()))
def test_too_long_strings_name_the_field(field, cap):
    extra = {"kind": "dependency"} if field == "peer" else {}
    assert isinstance(validate_event(good(**extra, **{field: "x" * cap}), NOW, SKEW), EventRecord)
    assert field in errors_of(good(**extra, **{field: "x" * (cap + 1)}))


def test_identifiers_are_limited_to_64_safe_characters():
    assert validate_event(good(trace_id="a" * 64), NOW, SKEW).trace_id == "a" * 64
    assert "trace_id" in errors_of(good(trace_id="a" * 65))
    assert "parent_span_id" in errors_of(good(parent_span_id="abc\n"))


def test_missing_required_fields_are_named():
    errors = errors_of({"ts": NOW})
    assert set(errors) == {"service", "step"}


def test_dependency_without_peer_is_rejected_naming_peer():
    assert "peer" in errors_of(good(kind="dependency"))
    assert "peer" in errors_of(good(kind="dependency", peer=None))
    record = validate_event(good(kind="dependency", peer="card-processor"), NOW, SKEW)
    assert (record.kind, record.peer) == ("dependency", "card-processor")


def test_future_timestamps_beyond_the_allowed_skew_are_rejected():
    assert isinstance(validate_event(good(ts=NOW + SKEW), NOW, SKEW), EventRecord)
    errors = errors_of(good(ts=NOW + SKEW + 1))
    assert list(errors) == ["ts"] and "future" in errors["ts"][0]
    # Through the schema path too (an unknown field sends the item there).
    assert "ts" in errors_of(good(ts=NOW + 3600, team="payments"))


def test_nul_characters_are_rejected_because_postgresql_cannot_store_them():
    assert "service" in errors_of(good(service="check\x00out"))
    assert "error_code" in errors_of(good(error_code="E\x00"))


def test_attributes_nested_too_deep_to_store_are_a_field_error():
    assert "attributes" in errors_of(good(attributes=nested(300)))
    assert "attributes" in errors_of(good(team=nested(300)))
    assert isinstance(validate_event(good(attributes=nested(200)), NOW, SKEW), EventRecord)


def test_attributes_over_16_kib_are_rejected():
    assert "attributes" in errors_of(good(attributes={"blob": "x" * 17_000}))
    assert "attributes" in errors_of(good(blob="x" * 17_000))


def test_item_that_is_not_an_object_is_named_as_the_item():
    for item in (None, 5, "event", [good()]):
        assert "_item" in errors_of(item)


def test_unknown_top_level_fields_end_up_in_attributes():
    record = validate_event(good(team="payments", region="eu-west-1", attributes={"build": 7}), NOW, SKEW)
    assert isinstance(record, EventRecord)
    assert orjson.loads(record.attributes) == {"team": "payments", "region": "eu-west-1", "build": 7}


def test_explicit_attributes_win_over_unknown_top_level_fields_of_the_same_name():
    record = validate_event(good(team="from-top-level", attributes={"team": "explicit"}), NOW, SKEW)
    assert orjson.loads(record.attributes) == {"team": "explicit"}
