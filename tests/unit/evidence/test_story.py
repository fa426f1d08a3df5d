"""The request story: causal order, where the failure starts, gaps in what arrived."""

from __future__ import annotations

import random

from server.evidence.story import Tree, build_story, exception_of, path_summary
from tests.support.triage_state import ONSET, failing_trace, read, trace_event


def order(events) -> list[tuple[int, str, str]]:
    return [(depth, e.service, e.kind) for e, depth in Tree(events).order]


def test_spans_come_in_causal_order_whatever_order_they_were_stored_in():
    events = failing_trace("t1")
    expected = [(0, "gateway", "request"), (1, "gateway", "dependency"), (2, "checkout", "request"),
                (3, "checkout", "dependency"), (4, "payment", "request"), (5, "payment", "dependency")]
    for seed in range(5):
        shuffled = list(events)
        random.Random(seed).shuffle(shuffled)
        assert order(shuffled) == expected


def test_siblings_are_ordered_by_time():
    root = trace_event("t", "r", None, "gateway", "GET /", ts=ONSET, error_code=None)
    late = trace_event("t", "b", "r", "gateway", "b", ts=ONSET + 2, kind="dependency", peer="b", error_code=None)
    early = trace_event("t", "a", "r", "gateway", "a", ts=ONSET + 1, kind="dependency", peer="a", error_code=None)
    assert [e.span_id for e, _ in Tree([late, root, early]).order] == ["r", "a", "b"]


def test_the_failure_starts_at_the_deepest_failing_span_without_failing_children():
    leaf = Tree(failing_trace("t1")).first_failure()
    assert (leaf.service, leaf.peer) == ("payment", "card-processor")


def test_a_trace_without_failures_has_no_first_failure():
    healthy = [trace_event("t", "r", None, "gateway", "GET /", ts=ONSET, error_code=None)]
    assert Tree(healthy).first_failure() is None


def test_a_parent_cycle_does_not_hang_and_keeps_every_span():
    a = trace_event("t", "a", "b", "x", "a", ts=ONSET)
    b = trace_event("t", "b", "a", "x", "b", ts=ONSET + 1)
    tree = Tree([a, b])
    assert len(tree.order) == 2 and tree.first_failure() is not None


def test_a_silent_service_is_the_peer_under_whose_call_an_orphan_starts():
    tree = Tree(failing_trace("t1", silent_checkout=True))
    assert tree.silent_peers() == ["checkout"]  # card-processor: nothing runs under its call


def test_an_external_dependency_is_not_silent():
    assert Tree(failing_trace("t1")).silent_peers() == []


def test_path_summary_names_the_services_and_the_failing_call():
    tree = Tree(failing_trace("t1"))
    assert path_summary(tree.chain(tree.first_failure())) == "gateway → checkout → payment ✗ card-processor (timeout)"


def test_exception_is_read_in_otel_and_sdk_spellings():
    assert exception_of({"exception.type": "KeyError", "exception.message": "'x'"}) == {"type": "KeyError",
                                                                                          "message": "'x'"}
    assert exception_of({"exception_type": "ValueError"}) == {"type": "ValueError", "message": None}
    assert exception_of({"exception": "OOM"}) == {"type": "OOM", "message": None}
    assert exception_of({"exception": {"nested": 1}}) is None
    assert exception_of({}) is None


def test_story_of_a_complete_trace_is_ok_and_marks_one_origin():
    story = build_story(read("t1", failing_trace("t1")))
    assert story["coverage"]["status"] == "ok" and story["coverage"]["status_reason"] is None
    assert [s["first_failure"] for s in story["spans"]].count(True) == 1
    assert story["spans"][0]["offset_ms"] == 0.0 and story["spans"][-1]["offset_ms"] == 5.0
    assert story["services"] == ["gateway", "checkout", "payment"]


def test_story_with_a_silent_service_is_partial_and_says_why():
    story = build_story(read("t1", failing_trace("t1", silent_checkout=True)))
    assert story["coverage"]["status"] == "partial"
    assert "parent that was not found" in story["coverage"]["status_reason"]
    assert "sending no spans: checkout" in story["coverage"]["status_reason"]
    assert [s["parent_missing"] for s in story["spans"]].count(True) == 1
