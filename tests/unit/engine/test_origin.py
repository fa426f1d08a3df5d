"""Where a failure starts: the deepest failing span whose children did not fail, voted across traces."""

from __future__ import annotations

import random

from server.engine.origin import find_origin
from tests.support.factories import T0, checkout_trace, span


def test_origin_is_the_deepest_failing_span_across_gateway_checkout_payment_card_processor():
    spans = [s for i in range(3) for s in checkout_trace(f"t{i}", T0 + i)]
    origin = find_origin(spans)

    # payment's call to card-processor failed and nothing below it did: the failure starts
    # there, in payment's POST /charge, via the external card-processor.
    assert (origin.service, origin.step, origin.via) == ("payment", "POST /charge", "card-processor")
    assert origin.error_code == "timeout"
    assert [(p.service, p.step) for p in origin.path] == [
        ("gateway", "POST /api/checkout"), ("checkout", "POST /checkout"), ("payment", "POST /charge"),
        ("payment", "card-processor POST /authorize")]
    assert (origin.traces_seen, origin.traces_agreeing) == (3, 3)
    assert origin.sample_traces == ("t0", "t1", "t2")
    assert origin.status == "ok" and origin.status_reason is None
    assert origin.first_failure_ts == T0 + 0.03


def test_a_failing_request_with_no_failing_children_is_the_origin_itself():
    # payment fails inside itself: its request span is the deepest failing span, no call failed.
    spans = []
    for i in range(3):
        trace = [s for s in checkout_trace(f"t{i}") if s.kind == "request"]
        spans.extend(trace)
    origin = find_origin(spans)
    assert (origin.service, origin.step, origin.via) == ("payment", "POST /charge", None)
    assert origin.error_code == "upstream_timeout"


def test_a_shallower_failing_branch_does_not_beat_the_deepest_one():
    # checkout's call to inventory also failed, but it is a leaf higher up the tree than
    # payment's failing call to card-processor.
    spans = []
    for i in range(3):
        trace_id = f"t{i}"
        spans.extend(checkout_trace(trace_id))
        spans.append(span(f"{trace_id}-inv", f"{trace_id}-c", "checkout", "inventory GET /stock",
                          trace_id=trace_id, kind="dependency", peer="inventory", error_code="E503",
                          ts=T0 - 1))
    origin = find_origin(spans)
    assert (origin.service, origin.via) == ("payment", "card-processor")


def test_origin_does_not_depend_on_span_order():
    spans = [s for i in range(4) for s in checkout_trace(f"t{i}", T0 + i)]
    expected = find_origin(spans)
    shuffled = list(spans)
    random.Random(7).shuffle(shuffled)
    assert find_origin(shuffled) == expected


def test_most_traces_agreeing_wins_the_vote():
    spans = [s for i in range(3) for s in checkout_trace(f"t{i}", T0 + i)]
    # One earlier trace where the failure starts inside checkout itself.
    spans += [span("x-g", None, "gateway", "POST /api/checkout", trace_id="x", ts=T0 - 5),
              span("x-c", "x-g", "checkout", "POST /checkout", trace_id="x", ts=T0 - 5)]
    origin = find_origin(spans)
    assert (origin.service, origin.via) == ("payment", "card-processor")
    assert (origin.traces_seen, origin.traces_agreeing) == (4, 3)
    assert "x" not in origin.sample_traces


def test_broken_parent_links_make_the_origin_partial():
    spans = [s for i in range(2) for s in checkout_trace(f"t{i}", T0 + i)]
    # In the third trace checkout sends nothing: payment's spans point at a parent we never got.
    spans += [s for s in checkout_trace("t2", T0 + 2) if s.service != "checkout"]
    origin = find_origin(spans)
    assert origin.status == "partial"
    assert "1 of 3 traces" in origin.status_reason
    assert "parent" in origin.status_reason


def test_complete_traces_are_not_partial():
    spans = [s for i in range(3) for s in checkout_trace(f"t{i}", T0 + i)]
    assert find_origin(spans).status == "ok"


def test_a_single_trace_is_partial_evidence():
    origin = find_origin(checkout_trace("only"))
    assert origin.status == "partial"
    assert "one failing trace" in origin.status_reason


def test_no_spans_means_the_origin_is_missing():
    origin = find_origin([])
    assert origin.status == "missing"
    assert origin.service == "" and origin.traces_seen == 0 and origin.first_failure_ts is None
