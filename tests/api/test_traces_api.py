"""GET /v1/traces/{trace_id}: one request's story, in causal order, failures marked, coverage stated."""

from __future__ import annotations

import functools
import time

import pytest

from server.engine.tick import Engine
from server.store import traces
from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import Fault, forget_seen_versions, play, request, send


@pytest.fixture
def reader(auth) -> dict[str, str]:
    return auth("read")


def story(client, reader, trace_id: str) -> dict:
    response = client.get(f"/v1/traces/{trace_id}", headers=reader)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def test_failing_request_story_is_in_causal_order_with_its_origin_marked(store, client, reader):
    play(store, Engine(store, "t"), Fault(processor="timeout"))
    body = story(client, reader, "f003")
    steps = [(s["depth"], s["service"], s["kind"]) for s in body["spans"]]
    assert steps == [(0, "gateway", "request"), (1, "gateway", "dependency"), (2, "checkout", "request"),
                     (3, "checkout", "dependency"), (4, "payment", "request"), (5, "payment", "dependency")]
    assert all(s["failed"] for s in body["spans"])
    marked = [s for s in body["spans"] if s["first_failure"]]
    assert len(marked) == 1 and marked[0]["peer"] == "card-processor"
    assert body["first_failure"] == marked[0]["span_id"]
    assert body["summary"] == "gateway → checkout → payment ✗ card-processor (timeout)"
    assert body["coverage"]["status"] == "ok" and body["coverage"]["search"] == "neighbourhood"


def test_healthy_spans_of_a_failing_trace_are_found_near_the_failing_ones(store, client, reader):
    now = time.time()
    events = request("mixed", now - 5, fault=Fault(processor="timeout"))
    events[0].pop("error_code")  # the gateway answered anyway (a degraded page): its span is healthy
    events[1].pop("error_code")
    forget_seen_versions()
    send(store, events, now)
    body = story(client, reader, "mixed")
    assert [s["failed"] for s in body["spans"]] == [False, False, True, True, True, True]
    assert body["coverage"]["healthy_spans"] == 2 and body["coverage"]["failing_spans"] == 4
    assert body["spans"][0]["parent_span_id"] is None and body["coverage"]["status"] == "ok"


def test_healthy_spans_stored_far_away_leave_the_story_partial(store, client, reader, monkeypatch):
    now = time.time()
    events = request("far", now - 5, fault=Fault(processor="timeout"))
    events[0].pop("error_code")
    events[1].pop("error_code")
    forget_seen_versions()
    send(store, events[2:], now)
    send(store, request("noise", now - 5) * 3, now)  # rows stored in between
    send(store, events[:2], now)
    monkeypatch.setattr(traces, "read_trace", functools.partial(traces.read_trace, either_side=3))
    body = story(client, reader, "far")
    assert body["coverage"]["status"] == "partial"
    assert "parent that was not found" in body["coverage"]["status_reason"]
    assert body["spans"][0]["parent_missing"] is True


def test_a_service_that_sends_nothing_shows_as_a_missing_parent(store, client, reader):
    play(store, Engine(store, "t"), Fault(processor="timeout"), silent=("checkout",))
    body = story(client, reader, "f000")
    assert "checkout" not in body["services"]
    assert any(s["parent_missing"] for s in body["spans"])
    assert body["coverage"]["status"] == "partial"
    assert "checkout" in body["coverage"]["status_reason"]


def test_recent_healthy_trace_is_found_and_says_how(store, client, reader):
    now = time.time()
    forget_seen_versions()
    send(store, request("fine", now - 1), now)
    body = story(client, reader, "fine")
    assert body["summary"] == "no failure in this trace" and body["first_failure"] is None
    assert body["coverage"]["search"] == "recent" and body["coverage"]["status"] == "partial"


def test_unknown_trace_is_404_and_a_bad_id_is_400(store, client, reader):
    assert_error_shape(client.get("/v1/traces/nosuchtrace", headers=reader), 404, "trace_id")
    assert_error_shape(client.get("/v1/traces/" + "a" * 65, headers=reader), 400, "trace_id")
    assert_error_shape(client.get("/v1/traces/bad%20id", headers=reader), 400, "trace_id")
