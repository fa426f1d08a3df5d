"""Every error path of every route family answers 4xx in the one JSON error shape.

`{"error": {"code": str, "message": str, "fields": dict}}`, with the bad field named in
`fields` (for batches, under each rejected item's `fields`).
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
import zlib

import orjson
import pytest

from server.app import create_app
from server.store import db
from tests.support.error_shape import assert_error_shape
from tests.support.factories import nested

SMALL_BODY = 4096
SMALL_BATCH = 10


def stored(table: str) -> int:
    return db.fetchone(f"SELECT COUNT(*) FROM {table}")[0]


def event(**fields) -> dict:
    return {"service": "checkout", "step": "POST /checkout", **fields}


def signal(**fields) -> dict:
    return {"type": "dependency", "service": "payment", **fields}


def deploy(**fields) -> dict:
    return {"service": "payment", "version": "v2", **fields}


JSON = "application/json"
DEEP_JSON = b"[" * 5000 + b"]" * 5000
HUGE = "x" * 1_000_000
SOON = time.time() + 3600


def post_json(payload) -> dict:
    # The standard library encoder: orjson refuses the 300-level objects some cases send.
    return {"data": json.dumps(payload).encode(), "content_type": JSON}


def post_raw(data: bytes, content_type: str | None = JSON, **headers) -> dict:
    kwargs: dict = {"data": data, "headers": headers}
    if content_type is not None:
        kwargs["content_type"] = content_type
    return kwargs


# (method, path, request kwargs, status, field named in `fields`)
BAD_REQUESTS = {
    # POST /v1/events
    "events-malformed-json": ("POST", "/v1/events", post_raw(b'[{"service": '), 400, "body"),
    "events-empty-body": ("POST", "/v1/events", post_raw(b""), 400, "body"),
    "events-deeply-nested-json": ("POST", "/v1/events", post_raw(DEEP_JSON), 400, "body"),
    "events-wrong-content-type": ("POST", "/v1/events", post_raw(b"[]", "text/plain"), 415, "Content-Type"),
    "events-form-content-type": ("POST", "/v1/events", post_raw(b"a=b", "application/x-www-form-urlencoded"),
                                 415, "Content-Type"),
    "events-no-content-type": ("POST", "/v1/events", post_raw(b"[]", None), 415, "Content-Type"),
    "events-unsupported-encoding": ("POST", "/v1/events", post_raw(b"[]", JSON, **{"Content-Encoding": "br"}),
                                    415, "Content-Encoding"),
    "events-corrupt-gzip": ("POST", "/v1/events", post_raw(b"\x1f\x8bnope", JSON, **{"Content-Encoding": "gzip"}),
                            400, "body"),
    "events-not-an-array": ("POST", "/v1/events", post_json({"service": "checkout"}), 400, "events"),
    "events-key-not-an-array": ("POST", "/v1/events", post_json({"events": 5}), 400, "events"),
    "events-null": ("POST", "/v1/events", post_json(None), 400, "events"),
    "events-item-not-an-object": ("POST", "/v1/events", post_json(["checkout"]), 400, "_item"),
    "events-wrong-type": ("POST", "/v1/events", post_json([event(service=42)]), 400, "service"),
    "events-missing-step": ("POST", "/v1/events", post_json([{"service": "checkout"}]), 400, "step"),
    "events-huge-string": ("POST", "/v1/events", post_json([event(step=HUGE)]), 400, "step"),
    "events-long-error-code": ("POST", "/v1/events", post_json([event(error_code="E" * 129)]), 400, "error_code"),
    "events-bad-trace-id": ("POST", "/v1/events", post_json([event(trace_id="not a trace id")]), 400, "trace_id"),
    "events-dependency-without-peer": ("POST", "/v1/events", post_json([event(kind="dependency")]), 400, "peer"),
    "events-future-ts": ("POST", "/v1/events", post_json([event(ts=SOON)]), 400, "ts"),
    "events-bad-ts": ("POST", "/v1/events", post_json([event(ts="next tuesday")]), 400, "ts"),
    "events-attributes-too-deep": ("POST", "/v1/events", post_json([event(attributes=nested(300))]), 400,
                                   "attributes"),
    "events-unknown-field-too-deep": ("POST", "/v1/events", post_json([event(extra=nested(300))]), 400,
                                      "attributes"),
    "events-attributes-too-big": ("POST", "/v1/events", post_json([event(attributes={"b": "x" * 20_000})]), 400,
                                  "attributes"),
    "events-nul-character": ("POST", "/v1/events", post_json([event(service="check\x00out")]), 400, "service"),
    # POST /v1/signals
    "signals-malformed-json": ("POST", "/v1/signals", post_raw(b"{nope"), 400, "body"),
    "signals-deeply-nested-json": ("POST", "/v1/signals", post_raw(DEEP_JSON), 400, "body"),
    "signals-wrong-content-type": ("POST", "/v1/signals", post_raw(b"{}", "text/csv"), 415, "Content-Type"),
    "signals-not-an-object": ("POST", "/v1/signals", post_json("deploy"), 400, "signals"),
    "signals-missing-type": ("POST", "/v1/signals", post_json({"service": "payment"}), 400, "type"),
    "signals-unknown-type": ("POST", "/v1/signals", post_json(signal(type="weather")), 400, "type"),
    "signals-missing-service": ("POST", "/v1/signals", post_json({"type": "deploy"}), 400, "service"),
    "signals-reason-too-long": ("POST", "/v1/signals", post_json(signal(reason="r" * 257)), 400, "reason"),
    "signals-message-too-long": ("POST", "/v1/signals", post_json(signal(message="m" * 2049)), 400, "message"),
    "signals-huge-string": ("POST", "/v1/signals", post_json(signal(service=HUGE)), 400, "service"),
    "signals-future-ts": ("POST", "/v1/signals", post_json(signal(ts=SOON)), 400, "ts"),
    "signals-attributes-not-object": ("POST", "/v1/signals", post_json(signal(attributes=[1])), 400,
                                      "attributes"),
    "signals-attributes-too-deep": ("POST", "/v1/signals", post_json(signal(attributes=nested(300))), 400,
                                    "attributes"),
    "signals-unknown-field-too-deep": ("POST", "/v1/signals", post_json(signal(ticket=nested(300))), 400,
                                       "_item"),
    "signals-nul-character": ("POST", "/v1/signals", post_json(signal(reason="a\x00b")), 400, "reason"),
    "signals-batch-all-bad": ("POST", "/v1/signals", post_json({"signals": [{"type": "deploy"}, signal(type=1)]}),
                              400, "type"),
    "signals-batch-not-an-array": ("POST", "/v1/signals", post_json({"signals": {"type": "deploy"}}), 400,
                                   "signals"),
    # POST /v1/deploys
    "deploys-malformed-json": ("POST", "/v1/deploys", post_raw(b"[}"), 400, "body"),
    "deploys-wrong-content-type": ("POST", "/v1/deploys", post_raw(b"{}", "text/plain"), 415, "Content-Type"),
    "deploys-missing-version": ("POST", "/v1/deploys", post_json({"service": "payment"}), 400, "version"),
    "deploys-missing-service": ("POST", "/v1/deploys", post_json({"version": "v2"}), 400, "service"),
    "deploys-commit-too-long": ("POST", "/v1/deploys", post_json(deploy(commit="c" * 129)), 400, "commit"),
    "deploys-version-wrong-type": ("POST", "/v1/deploys", post_json(deploy(version=2)), 400, "version"),
    "deploys-huge-message": ("POST", "/v1/deploys", post_json(deploy(message=HUGE)), 400, "message"),
    # GET /v1/signals
    "signals-query-bad-since": ("GET", "/v1/signals?since=yesterday", {}, 400, "since"),
    "signals-query-empty-since": ("GET", "/v1/signals?since=", {}, 400, "since"),
    "signals-query-infinite-since": ("GET", "/v1/signals?since=" + "9" * 400, {}, 400, "since"),
    "signals-query-bad-until": ("GET", "/v1/signals?until=1.2.3", {}, 400, "until"),
    "signals-query-zero-limit": ("GET", "/v1/signals?limit=0", {}, 400, "limit"),
    "signals-query-negative-limit": ("GET", "/v1/signals?limit=-5", {}, 400, "limit"),
    "signals-query-huge-limit": ("GET", "/v1/signals?limit=1001", {}, 400, "limit"),
    "signals-query-word-limit": ("GET", "/v1/signals?limit=ten", {}, 400, "limit"),
    "signals-query-superscript-limit": ("GET", "/v1/signals?limit=%C2%B2", {}, 400, "limit"),
    "signals-query-nul": ("GET", "/v1/signals?service=pay%00ment", {}, 400, "url"),
    # GET /v1/incidents
    "incidents-bad-state": ("GET", "/v1/incidents?state=exploded", {}, 400, "state"),
    "incidents-bad-limit": ("GET", "/v1/incidents?limit=0", {}, 400, "limit"),
    "incident-unknown": ("GET", "/v1/incidents/inc_20240101_0000_abcdef", {}, 404, "incident_id"),
    "incident-nul-id": ("GET", "/v1/incidents/inc%00x", {}, 400, "url"),
    # POST /v1/alerts, /v1/alerts/{source}
    "alerts-malformed-json": ("POST", "/v1/alerts", post_raw(b'{"alerts": ['), 400, "body"),
    "alerts-empty-body": ("POST", "/v1/alerts/alertmanager", post_raw(b""), 400, "body"),
    "alerts-corrupt-gzip": ("POST", "/v1/alerts", post_raw(b"\x1f\x8bnope", JSON, **{"Content-Encoding": "gzip"}),
                            400, "body"),
    "alerts-group-without-alerts": ("POST", "/v1/alerts/alertmanager", post_json({"receiver": "x"}), 400, "alerts"),
    "alerts-group-all-bad": ("POST", "/v1/alerts/grafana", post_json({"alerts": [{"status": "pending"}]}), 400,
                             "status"),
    "alerts-pagerduty-not-an-event": ("POST", "/v1/alerts/pagerduty", post_json({"event": 1}), 400, "event"),
    "alerts-onset-missing-name": ("POST", "/v1/alerts/onset", post_json({"service": "payment"}), 400, "name"),
    "alerts-onset-bad-link": ("POST", "/v1/alerts", post_json({"name": "x", "links": {"panel": "javascript:x"}}), 400,
                              "links"),
    "alerts-unknown-source": ("POST", "/v1/alerts/nagios", post_json({}), 404, "source"),
    "alerts-over-the-cap": ("POST", "/v1/alerts", post_json({"name": HUGE * 6}), 413, "body"),
    # GET /v1/alerts
    "alerts-query-bad-status": ("GET", "/v1/alerts?status=open", {}, 400, "status"),
    "alerts-query-bad-source": ("GET", "/v1/alerts?source=nagios", {}, 400, "source"),
    "alerts-query-bad-limit": ("GET", "/v1/alerts?limit=0", {}, 400, "limit"),
    # POST /v1/traces
    "traces-corrupt-protobuf": ("POST", "/v1/traces", post_raw(b"\x0a\xff\xff\xff\xff\x0f", "application/x-protobuf"),
                                400, "body"),
    "traces-malformed-json": ("POST", "/v1/traces", post_raw(b"{nope"), 400, "body"),
    "traces-not-otlp-json": ("POST", "/v1/traces", post_json({"resourceSpans": 5}), 400, "resourceSpans"),
    "traces-wrong-content-type": ("POST", "/v1/traces", post_raw(b"{}", "text/plain"), 415, "Content-Type"),
    "traces-unsupported-encoding": ("POST", "/v1/traces", post_raw(b"", "application/x-protobuf",
                                                                   **{"Content-Encoding": "br"}), 415,
                                    "Content-Encoding"),
    "traces-wrong-method": ("GET", "/v1/traces", {}, 405, None),
    # POST/GET/DELETE /v1/channels
    "channels-not-an-object": ("POST", "/v1/channels", post_json([]), 400, "body"),
    "channels-unknown-type": ("POST", "/v1/channels", post_json({"type": "sms", "url": "https://x.test"}), 400, "type"),
    "channels-slack-without-url": ("POST", "/v1/channels", post_json({"type": "slack"}), 400, "url"),
    "channels-not-http": ("POST", "/v1/channels", post_json({"type": "webhook", "url": "ftp://x.test/"}), 400, "url"),
    "channels-pagerduty-without-key": ("POST", "/v1/channels", post_json({"type": "pagerduty"}), 400, "routing_key"),
    "channels-secret-on-slack": ("POST", "/v1/channels", post_json({"type": "slack", "url": "https://x.test",
                                                                   "secret": "s"}), 400, "secret"),
    "channels-unknown-field": ("POST", "/v1/channels", post_json({"type": "slack", "url": "https://x.test",
                                                                 "colour": "red"}), 400, "colour"),
    "channels-unknown-rule-field": ("POST", "/v1/channels", post_json({"type": "slack", "url": "https://x.test",
                                                                      "rules": [{"weather": "x"}]}), 400, "rules"),
    "channels-unknown-event": ("POST", "/v1/channels", post_json({"type": "slack", "url": "https://x.test",
                                                                 "rules": [{"events": "exploded"}]}), 400, "rules"),
    "channels-unknown-id": ("DELETE", "/v1/channels/chn_nope", {}, 404, "channel_id"),
    "channels-unknown-id-get": ("GET", "/v1/channels/chn_nope", {}, 404, "channel_id"),
    # GET /v1/notifications
    "notifications-bad-state": ("GET", "/v1/notifications?state=lost", {}, 400, "state"),
    "notifications-bad-limit": ("GET", "/v1/notifications?limit=0", {}, 400, "limit"),
    # /v1/health/...
    "health-bad-state": ("GET", "/v1/health/alerts?state=open", {}, 400, "state"),
    "health-unknown-alert": ("GET", "/v1/health/alerts/hal_nope", {}, 404, "alert_id"),
    "health-action-unconfirmed": ("POST", "/v1/health/alerts/hal_nope/action", post_json({}), 400, "confirm"),
    "health-action-unknown-alert": ("POST", "/v1/health/alerts/hal_nope/action", post_json({"confirm": True}),
                                    404, "alert_id"),
    "health-action-unknown-key": ("PUT", "/v1/health/actions/nope", post_json({"label": "x", "url": "https://x.test"}),
                                  400, "key"),
    "health-action-bad-url": ("PUT", "/v1/health/actions/service_silent",
                              post_json({"label": "x", "url": "javascript:alert(1)"}), 400, "url"),
    "health-action-missing-label": ("PUT", "/v1/health/actions/service_silent", post_json({"url": "https://x.test"}),
                                    400, "label"),
    "health-action-remove-unknown": ("DELETE", "/v1/health/actions/service_silent", {}, 404, "key"),
    # POST /v1/heartbeats
    "heartbeats-not-an-object": ("POST", "/v1/heartbeats", post_json([]), 400, "body"),
    "heartbeats-missing-source": ("POST", "/v1/heartbeats", post_json({"interval_s": 30}), 400, "source"),
    "heartbeats-zero-interval": ("POST", "/v1/heartbeats", post_json({"source": "etl", "interval_s": 0}), 400,
                                 "interval_s"),
    "heartbeats-boolean-interval": ("POST", "/v1/heartbeats", post_json({"source": "etl", "interval_s": True}), 400,
                                    "interval_s"),
    "heartbeats-bad-source": ("POST", "/v1/heartbeats", post_json({"source": "a b", "interval_s": 5}), 400, "source"),
    "heartbeats-after-itself": ("POST", "/v1/heartbeats", post_json({"source": "etl", "interval_s": 5,
                                                                    "after": "etl"}), 400, "after"),
    # routing
    "unknown-route": ("GET", "/v1/nothing-here", {}, 404, None),
    "unknown-route-post": ("POST", "/v1/event", post_json([]), 404, None),
    "events-wrong-method": ("PUT", "/v1/events", post_json([]), 405, None),
    "deploys-wrong-method": ("GET", "/v1/deploys", {}, 405, None),
    "incidents-wrong-method": ("DELETE", "/v1/incidents", {}, 405, None),
    "livez-wrong-method": ("POST", "/livez", {}, 405, None),
}


FAMILIES = ("events", "signals", "deploys", "signals-query", "incident", "alerts", "alerts-query", "traces",
            "channels", "notifications", "health", "heartbeats", "routing")


def family_of(case: str) -> str:
    for family in ("signals-query", "alerts-query", "incident", "events", "signals", "deploys", "alerts", "traces",
                   "channels", "notifications", "heartbeats", "health"):
        if case.startswith(family):
            return family
    return "routing"


def test_every_case_belongs_to_a_route_family():
    assert {family_of(case) for case in BAD_REQUESTS} == set(FAMILIES)


# One test per route family (each case is a request, the database set-up is the slow part);
# every failing case is reported, not only the first.
@pytest.mark.parametrize("family", FAMILIES)
def test_bad_input_gets_the_error_shape_naming_the_field(client, auth, family):
    headers = auth("admin")
    failures = []
    for case in sorted(c for c in BAD_REQUESTS if family_of(c) == family):
        method, path, kwargs, status, field = BAD_REQUESTS[case]
        response = client.open(path, method=method, **{**kwargs, "headers": {**kwargs.get("headers", {}),
                                                                               **headers}})
        try:
            assert_error_shape(response, status, field)
        except AssertionError as exc:
            failures.append(f"{case}: {exc}")
    assert not failures, "\n".join(failures)


def test_wrong_method_names_the_allowed_methods(client, auth):
    response = client.put("/v1/events", headers=auth("admin"))
    assert_error_shape(response, 405)
    assert "POST" in response.headers["Allow"]


def test_rejected_requests_store_nothing(client, auth):
    headers = auth("admin")
    for case in ("events-wrong-type", "events-future-ts", "events-huge-string", "signals-reason-too-long",
                 "deploys-missing-version", "events-corrupt-gzip"):
        method, path, kwargs, status, _ = BAD_REQUESTS[case]
        response = client.open(path, method=method, **{**kwargs, "headers": {**kwargs.get("headers", {}),
                                                                               **headers}})
        assert response.status_code == status
    assert stored("events") == 0 and stored("signals") == 0


# -- limits (a small app so that the bodies stay small) -----------------------------------------

@pytest.fixture
def small_client(store):
    settings = dataclasses.replace(store, max_body_bytes=SMALL_BODY, max_batch_items=SMALL_BATCH)
    return create_app(settings).test_client()


@pytest.mark.parametrize("path", ["/v1/events", "/v1/signals", "/v1/deploys"])
def test_body_over_max_body_bytes_is_413(small_client, auth, path):
    body = orjson.dumps([event(step="s" * SMALL_BODY)])
    response = small_client.post(path, data=body, content_type=JSON, headers=auth("admin"))
    assert_error_shape(response, 413, "body")


def test_compressed_body_that_inflates_over_the_cap_is_413(small_client, auth):
    body = gzip.compress(orjson.dumps([event(step="s" * 200) for _ in range(40)]))
    assert len(body) < SMALL_BODY
    response = small_client.post("/v1/events", data=body, content_type=JSON,
                                 headers={**auth("admin"), "Content-Encoding": "gzip"})
    assert_error_shape(response, 413, "body")
    assert stored("events") == 0


def test_compressed_body_under_the_cap_is_accepted(small_client, auth):
    body = zlib.compress(orjson.dumps([event(), event()]))
    response = small_client.post("/v1/events", data=body, content_type=JSON,
                                 headers={**auth("admin"), "Content-Encoding": "deflate"})
    assert response.status_code == 200
    assert response.get_json()["accepted"] == 2


@pytest.mark.parametrize(("path", "key", "item"), [
    ("/v1/events", "events", {"service": "a", "step": "b"}),
    ("/v1/signals", "signals", {"type": "config", "service": "a"}),
    ("/v1/deploys", "signals", {"service": "a", "version": "v1"}),
])
def test_too_many_items_is_413_naming_the_batch(small_client, auth, path, key, item):
    response = small_client.post(path, json={key: [item] * (SMALL_BATCH + 1)}, headers=auth("admin"))
    assert_error_shape(response, 413, key)
    assert stored("events") == 0 and stored("signals") == 0
    ok = small_client.post(path, json={key: [item] * SMALL_BATCH}, headers=auth("admin"))
    assert ok.status_code == 200 and ok.get_json()["accepted"] == SMALL_BATCH


# -- partly bad batches -------------------------------------------------------------------------

def test_partly_bad_batch_keeps_good_items_and_reports_each_rejected_index(client, auth):
    batch = [event(), event(service=7), event(step="POST /pay"), event(kind="dependency"),
             event(ts="not a time", trace_id="x y")]
    response = client.post("/v1/events", json=batch, headers=auth("ingest"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["accepted"] == 2
    rejected = {r["index"]: r["fields"] for r in body["rejected"]}
    assert set(rejected) == {1, 3, 4}
    assert set(rejected[1]) == {"service"}
    assert set(rejected[3]) == {"peer"}
    assert set(rejected[4]) == {"ts", "trace_id"}
    assert stored("events") == 2


def test_partly_bad_signal_batch_keeps_good_signals(client, auth):
    batch = {"signals": [signal(), signal(type="weather"), signal(reason="r" * 300)]}
    response = client.post("/v1/signals", json=batch, headers=auth("ingest"))
    assert response.status_code == 200
    body = response.get_json()
    assert body["accepted"] == 1 and len(body["signal_ids"]) == 1
    assert [(r["index"], set(r["fields"])) for r in body["rejected"]] == [(1, {"type"}), (2, {"reason"})]
    assert stored("signals") == 1


def test_all_bad_batch_stores_nothing_and_answers_400(client, auth):
    batch = [event(service=None), event(step=""), {"nothing": "useful"}]
    response = client.post("/v1/events", json=batch, headers=auth("ingest"))
    error = assert_error_shape(response, 400)
    assert [r["index"] for r in error["fields"]["events"]] == [0, 1, 2]
    assert set(error["fields"]["events"][0]["fields"]) == {"service"}
    assert stored("events") == 0


def test_bad_item_with_a_nul_character_does_not_lose_its_good_neighbours(client, auth):
    # PostgreSQL cannot store NUL in TEXT: an unchecked one would fail the whole transaction.
    response = client.post("/v1/events", json=[event(), event(user_id="u\x00")], headers=auth("ingest"))
    assert response.status_code == 200
    assert response.get_json()["rejected"] == [{"index": 1, "fields": {"user_id": ["must not contain NUL characters"]}}]
    assert stored("events") == 1
