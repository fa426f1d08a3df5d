"""The report for crafted failures, from events through the engine to `triage.v1`, on both backends.

Requests go gateway → checkout → payment → card-processor. Each scenario checks origin,
cause and next checks, and that every reason, check and warning cites evidence that
exists in `evidence[]`. (Scenarios driven by the demo shop are added with the demo.)
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from server.engine.tick import Engine
from server.triage.lookup import report_for
from tests.support.triage_traffic import T0, Fault, play, signal, tick_until

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "triage.v1.schema.json").read_text())
VERSIONS = {"gateway": "1.0.0", "checkout": "2.0.0", "payment": "3.1.0"}


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "test-engine")


def assert_cited_evidence_exists(report: dict) -> None:
    ids = {e["id"] for e in report["evidence"]}
    cited = [r["evidence"] for r in report["cause"]["reasons"]]
    cited += [c["evidence"] for c in report["next_checks"]]
    cited += [w["evidence"] for w in report["instrumentation"]]
    assert report["cause"]["reasons"], "a cause without reasons"
    for evidence in cited:
        assert evidence, "a finding that cites nothing"
        assert set(evidence) <= ids, set(evidence) - ids
    for section in ("where_it_started", "how_bad"):
        assert set(report[section]["evidence"]) <= ids


def codes(report: dict) -> list[str]:
    return [w["code"] for w in report["instrumentation"]]


def test_failing_dependency_is_the_cause_and_its_calls_the_origin(store, engine):
    played = play(store, engine, Fault(processor="timeout"))
    report = report_for(played.incident_id)
    jsonschema.validate(report, SCHEMA)

    assert report["cause"]["kind"] == "dependency" and report["cause"]["confidence"] == "high"
    where = report["where_it_started"]
    assert where["status"] == "ok"
    assert where["origin"] == {"service": "payment", "step": "POST /charge", "via": "card-processor",
                               "error_code": "timeout"}
    assert [(p["service"], p["kind"]) for p in where["path"]][0] == ("gateway", "request")
    assert where["path"][-1]["peer"] == "card-processor"
    assert "card-processor" in report["next_checks"][0]["text"]
    assert "card-processor" in report["summary"]
    assert report["how_bad"]["users"] == 6
    assert report["how_bad"]["requests"]["failed"] == 36  # 12 requests fail in 3 services
    assert report["how_bad"]["entry_points"] == [{"service": "gateway", "step": "POST /api/checkout", "traces": 12}]
    assert_cited_evidence_exists(report)
    assert "no_version" in codes(report)  # none of the services sent a version


def test_deploy_before_the_onset_is_the_suspect_with_what_ci_sent(store, engine):
    def deploy(now: float) -> dict[str, str]:
        return {"deploy": signal(store, {"service": "checkout", "version": "2.1.0", "ts": T0 - 120,
                                         "commit": "9f1c2ab3d4e5f60718", "author": "alice",
                                         "pr_url": "https://github.com/shop/checkout/pull/481"}, now, deploy=True)}

    played = play(store, engine, Fault(checkout="KeyError"), before_burst=deploy)
    report = report_for(played.incident_id)
    jsonschema.validate(report, SCHEMA)

    deploy_id = played.signals["deploy"]
    assert report["cause"]["kind"] == "deploy" and report["cause"]["suspect"] == deploy_id
    assert report["where_it_started"]["origin"]["service"] == "checkout"
    assert report["where_it_started"]["origin"]["via"] is None
    suspect = next(i for i in report["what_changed"]["items"] if i["id"] == deploy_id)
    assert suspect["role"] == "suspect" and suspect["relation"] == "before"
    assert suspect["offset_seconds"] == pytest.approx(-125.0)
    assert suspect["details"] == {"version": "2.1.0", "commit": "9f1c2ab3d4e5f60718", "author": "alice",
                                  "pr_url": "https://github.com/shop/checkout/pull/481"}
    assert set(suspect["error_rates"]) == {"window_seconds", "before", "after"}
    first = report["next_checks"][0]["text"]
    assert "checkout 2.1.0" in first and "9f1c2ab3d4e5" in first and "pull/481" in first
    assert report["next_checks"][0]["evidence"] == [deploy_id]
    assert_cited_evidence_exists(report)


def test_failure_inside_the_service_is_an_app_cause_naming_the_exception(store, engine):
    played = play(store, engine, Fault(checkout="ZeroDivisionError", exception_message="division by zero"),
                  versions=VERSIONS)
    report = report_for(played.incident_id)
    jsonschema.validate(report, SCHEMA)

    assert report["cause"]["kind"] == "app"
    where = report["where_it_started"]
    assert where["origin"] == {"service": "checkout", "step": "POST /checkout", "via": None,
                               "error_code": "ZeroDivisionError"}
    assert where["exception"] == {"type": "ZeroDivisionError", "message": "division by zero"}
    texts = " ".join(c["text"] for c in report["next_checks"])
    assert "ZeroDivisionError" in texts and "division by zero" in texts
    assert report["what_changed"]["items"] == [] and report["what_changed"]["status"] == "ok"
    # Versions are sent, and checkout's healthy traffic shows its calls: nothing to warn about.
    assert codes(report) == []
    assert_cited_evidence_exists(report)


def test_service_that_sends_nothing_is_named_with_its_fix(store, engine):
    played = play(store, engine, Fault(processor="timeout"), versions=VERSIONS, silent=("checkout",))
    report = report_for(played.incident_id)
    jsonschema.validate(report, SCHEMA)

    assert report["where_it_started"]["status"] == "partial"
    warnings = {w["code"]: w for w in report["instrumentation"]}
    assert "broken_parent_links" in warnings
    assert warnings["silent_service"]["text"].startswith("checkout is called on the failing path")
    assert 'onset_sdk.init(service="checkout")' in warnings["silent_service"]["fix"]
    # card-processor is external: it is called but nothing runs under it, so it is no warning.
    assert "card-processor" not in json.dumps(report["instrumentation"])
    assert_cited_evidence_exists(report)


def test_a_new_version_in_traffic_is_a_deploy_in_what_changed(store, engine):
    old = {**VERSIONS, "payment": "3.1.0"}
    new = {**VERSIONS, "payment": "3.2.0"}
    played = play(store, engine, Fault(processor="timeout"), versions=old, burst_versions=new)
    report = report_for(played.incident_id)
    auto = [i for i in report["what_changed"]["items"] if i["source"] == "onset.auto"]
    assert len(auto) == 1
    assert auto[0]["service"] == "payment" and auto[0]["type"] == "deploy"
    assert auto[0]["details"] == {"version": "3.2.0", "previous_version": "3.1.0", "auto": True}
    assert any(e["id"] == auto[0]["id"] and e["kind"] == "deploy" for e in report["evidence"])


def test_earlier_incident_of_the_same_family_is_listed_and_checked(store, engine):
    first = play(store, engine, Fault(processor="timeout"), versions=VERSIONS)
    tick_until(engine, T0 + 40, T0 + 600)  # quiet: recovering, then resolved
    later = T0 + 3600
    second = play(store, engine, Fault(processor="timeout"), versions=VERSIONS, at=later, prefix="g")
    report = report_for(second.incident_id)

    similar = report["similar_incidents"]
    assert [s["id"] for s in similar["items"]] == [first.incident_id]
    assert similar["items"][0]["match"] == "same_family" and similar["items"][0]["state"] == "resolved"
    check = report["next_checks"][-1]
    assert check["evidence"] == [f"incident:{first.incident_id}"] and first.incident_id in check["text"]
    assert f"incident:{first.incident_id}" in {e["id"] for e in report["evidence"]}
    assert_cited_evidence_exists(report)
