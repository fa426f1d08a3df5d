"""Instrumentation warnings: each gap in what the services send, named with its fix."""

from __future__ import annotations

from server.triage.instrumentation import instrumentation_warnings

FAMILIES = ["family:payment/production/POST /charge/upstream_timeout"]
TRACES = ["trace:f000"]


def facts(**overrides) -> dict:
    base = {"trace_ids_missing": False, "traces_checked": 3, "broken_traces": 0, "silent_services": [],
            "services_without_version": [], "services_without_dependency_events": []}
    return {"instrumentation": {**base, **overrides}}


def warnings(propagation: dict, blast: dict | None = None) -> dict[str, dict]:
    found = instrumentation_warnings(propagation, blast or {"users": 3, "traces_counted": 3}, FAMILIES, TRACES)
    return {w["code"]: w for w in found}


def test_complete_instrumentation_gives_no_warning():
    assert warnings(facts()) == {}


def test_missing_version_names_the_services_and_the_sdk_setting():
    w = warnings(facts(services_without_version=["checkout", "payment"]))["no_version"]
    assert w["text"].startswith("checkout, payment send no service version")
    assert "`version` in `onset_sdk.init`" in w["fix"]
    assert w["evidence"] == FAMILIES


def test_broken_parent_links_count_the_traces_and_ask_for_traceparent():
    w = warnings(facts(broken_traces=2))["broken_parent_links"]
    assert w["text"].startswith("2 of 3 sample traces") and "traceparent" in w["fix"]
    assert w["evidence"] == TRACES


def test_a_silent_service_and_one_that_drops_the_context_get_different_fixes():
    found = warnings(facts(silent_services=[{"service": "checkout", "reason": "sends_nothing"},
                                            {"service": "ledger", "reason": "drops_trace_context"}]))
    assert 'onset_sdk.init(service="checkout")' in found["silent_service"]["fix"]
    assert found["service_drops_trace_context"]["text"] == "ledger sends events, but not as part of these traces"


def test_failure_inside_a_service_without_dependency_events_asks_for_them():
    w = warnings(facts(services_without_dependency_events=["checkout"]))["no_dependency_events"]
    assert "checkout sends no dependency events" in w["text"] and "kind: \"dependency\"" in w["fix"]


def test_no_trace_ids_and_no_user_ids():
    found = warnings(facts(trace_ids_missing=True), {"users": None, "traces_counted": 4})
    assert set(found) == {"no_trace_ids", "no_user_ids"}
    assert "trace_id" in found["no_trace_ids"]["fix"] and "set_user_id" in found["no_user_ids"]["fix"]


def test_a_snapshot_without_facts_gives_no_warning():
    assert instrumentation_warnings({}, {}, FAMILIES, []) == []
