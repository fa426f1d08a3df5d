"""Propagation snapshot: the engine's origin with the path, exception and gaps the traces show."""

from __future__ import annotations

from server.evidence.propagation import basis_of, propagation_snapshot
from tests.support.triage_state import ONSET, ORIGIN, failing_trace, read, trace_event

ALL_SEND = {(s, k): 10 for s in ("gateway", "checkout", "payment") for k in ("request", "dependency")}
VERSIONED = {"gateway", "checkout", "payment"}


def snap(reads, *, origin=None, cause="dependency", traffic=None, versioned=VERSIONED):
    return propagation_snapshot(origin or ORIGIN, cause, reads, {"payment"}, set(versioned),
                                ALL_SEND if traffic is None else traffic)


def test_complete_traces_give_an_ok_snapshot_with_the_full_path():
    s = snap([read("t1", failing_trace("t1")), read("t2", failing_trace("t2", ONSET + 1))])
    assert s["status"] == "ok" and s["status_reason"] is None
    assert s["origin"] == {"service": "payment", "step": "POST /charge", "via": "card-processor", "error_code": "timeout"}
    assert s["path_source"] == "trace"
    assert [p["service"] for p in s["path"]] == ["gateway", "gateway", "checkout", "checkout", "payment", "payment"]
    assert [t["trace_id"] for t in s["sample_traces"]] == ["t1", "t2"]
    assert s["sample_traces"][1]["ts"] == ONSET + 1
    assert s["instrumentation"]["broken_traces"] == 0 and s["instrumentation"]["silent_services"] == []


def test_healthy_callers_are_part_of_the_path():
    s = snap([read("t1", failing_trace("t1", gateway_ok=True))])
    assert [(p["service"], p["status"]) for p in s["path"][:3]] == [("gateway", "ok"), ("gateway", "ok"),
                                                                   ("checkout", "error")]


def test_no_trace_ids_is_missing_with_the_engines_reason():
    s = snap([], origin={"status": "missing", "status_reason": "no failing events carry trace ids"}, cause="unknown")
    assert s["status"] == "missing" and s["status_reason"] == "no failing events carry trace ids"
    assert s["instrumentation"]["trace_ids_missing"] is True
    assert s["origin"] is None and s["path"] == [] and s["sample_traces"] == []


def test_a_silent_service_makes_it_partial_and_is_named():
    reads = [read("t1", failing_trace("t1", silent_checkout=True))]
    traffic = {k: v for k, v in ALL_SEND.items() if k[0] != "checkout"}
    s = snap(reads, traffic=traffic)
    assert s["status"] == "partial" and "parent was never received" in s["status_reason"]
    assert s["instrumentation"]["broken_traces"] == 1
    assert s["instrumentation"]["silent_services"] == [{"service": "checkout", "reason": "sends_nothing"}]
    # If checkout does send events elsewhere, it drops the trace context instead.
    assert snap(reads)["instrumentation"]["silent_services"] == [{"service": "checkout",
                                                                  "reason": "drops_trace_context"}]


def test_services_without_a_version_are_listed():
    s = snap([read("t1", failing_trace("t1"))], versioned={"gateway"})
    assert s["instrumentation"]["services_without_version"] == ["checkout", "payment"]


def test_app_failure_in_a_service_without_dependency_events_is_flagged():
    origin = {**ORIGIN, "service": "checkout", "step": "POST /checkout", "via": None, "error_code": "KeyError"}
    events = [trace_event("t1", "g", None, "gateway", "POST /api/checkout", ts=ONSET),
              trace_event("t1", "c", "g", "checkout", "POST /checkout", ts=ONSET + 0.1, error_code="KeyError",
                          attributes={"exception.type": "KeyError", "exception.message": "'sku'"})]
    traffic = {("checkout", "request"): 50, ("gateway", "request"): 50, ("gateway", "dependency"): 50}
    s = snap([read("t1", events)], origin=origin, cause="app", traffic=traffic)
    assert s["instrumentation"]["services_without_dependency_events"] == ["checkout"]
    assert s["exception"] == {"type": "KeyError", "message": "'sku'"}
    assert snap([read("t1", events)], origin=origin, cause="app")["instrumentation"][
        "services_without_dependency_events"] == []


def test_without_a_trace_matching_the_origin_the_engines_path_is_kept():
    other = [trace_event("t1", "x", None, "search", "GET /q", ts=ONSET)]
    s = snap([read("t1", other)])
    assert s["path_source"] == "failing_spans" and [p["service"] for p in s["path"]] == ["gateway", "payment"]
    assert s["status"] == "partial" and "could be read back" in s["status_reason"]


def test_basis_changes_with_the_engines_inputs_only():
    assert basis_of(ORIGIN, ["t1"], "dependency") == basis_of(dict(reversed(list(ORIGIN.items()))), ["t1"],
                                                             "dependency")
    assert basis_of(ORIGIN, ["t1"], "dependency") != basis_of(ORIGIN, ["t2"], "dependency")
    assert basis_of(ORIGIN, ["t1"], "dependency") != basis_of(ORIGIN, ["t1"], "deploy")


def test_a_very_deep_path_keeps_its_entry_and_its_failure_and_counts_the_rest():
    deep = [trace_event("t1", "s0", None, "edge", "GET /", ts=ONSET)]
    for i in range(1, 60):
        deep.append(trace_event("t1", f"s{i}", f"s{i - 1}", f"svc{i}", "hop", ts=ONSET + i / 1000))
    origin = {**ORIGIN, "service": "svc59", "step": "hop", "via": None, "error_code": "E502"}
    s = snap([read("t1", deep)], origin=origin)
    assert len(s["path"]) == 30 and s["path_left_out"] == 30
    assert s["path"][0]["service"] == "edge" and s["path"][-1]["service"] == "svc59"
