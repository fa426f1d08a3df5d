"""build_report: incident + snapshots -> triage.v1, cited, hash-stable, never silently empty."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import jsonschema
import pytest

from server.triage.report import build_report
from tests.support.triage_state import INCIDENT_ID, ONSET, T0, incident_state, past_incident, signal_record

SCHEMA = json.loads((Path(__file__).resolve().parents[3] / "docs" / "triage.v1.schema.json").read_text())
DEPLOY = signal_record("sig_deploy", "deploy", "payment", ONSET - 180, reason="deployed 3.2.0", version="3.2.0",
                       previous_version="3.1.0", commit="4e1f0c9a7b2d11aa", author="alice",
                       pr_url="https://github.com/shop/payment/pull/7")
DEPENDENCY = signal_record("sig_dep", "dependency", "payment", ONSET - 60, reason="card-processor answers 503",
                           source="statuspage", dependency="card-processor")
RATES = {"sig_deploy": {"window_seconds": 60.0, "before": {"failed": 1, "total": 100, "error_rate": 0.01},
                        "after": {"failed": 30, "total": 100, "error_rate": 0.3}}}


def report_of(incident: dict) -> dict:
    return build_report(incident, incident["snapshots"], generator="onset test")


def test_the_schema_itself_is_valid():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)


STATES = {
    "dependency": lambda: incident_state(),
    "deploy suspect": lambda: incident_state(cause="deploy", changes=[DEPLOY, DEPENDENCY], suspect="sig_deploy",
                                             runner_up="sig_dep", rates=RATES),
    "resolved with history": lambda: incident_state(state="resolved", similar=[past_incident("inc_20231101_0900_abcdef",
                                                                                              T0 - 86400)]),
    "no traces": lambda: incident_state(cause="unknown", traces=(), origin={"status": "missing",
                                                                           "status_reason": "no trace ids"}),
    "stored before evidence": lambda: {**incident_state(), "snapshots": {}},
}


@pytest.mark.parametrize("name", sorted(STATES))
def test_report_matches_the_schema_and_cites_only_listed_evidence(name):
    report = report_of(STATES[name]())
    jsonschema.validate(report, SCHEMA)
    ids = {e["id"] for e in report["evidence"]}
    for finding in report["cause"]["reasons"] + report["next_checks"] + report["instrumentation"]:
        assert finding["evidence"] and set(finding["evidence"]) <= ids, finding
    assert report["incident"]["id"] == INCIDENT_ID


def test_every_section_says_its_capture_status():
    report = report_of({**incident_state(), "snapshots": {}})
    for section in ("where_it_started", "how_bad", "what_changed", "alerts", "similar_incidents"):
        assert report[section]["status"] == "missing"
        assert "stored before Onset captured" in report[section]["status_reason"]


def test_alerts_section_is_captured_and_empty_when_no_alert_is_attached():
    alerts = report_of(incident_state())["alerts"]
    assert alerts["status"] == "ok" and alerts["items"] == [] and alerts["items_left_out"] == 0


def test_capture_times_do_not_change_the_hash_but_show_in_provenance():
    incident = incident_state()
    moved = copy.deepcopy(incident)
    for snap in moved["snapshots"].values():
        snap["captured_at"] += 999
    moved["updated_at"] += 999
    moved["opened_at"] += 5
    first, second = report_of(incident), report_of(moved)
    assert first["report_hash"] == second["report_hash"]
    assert first["generated_at"] != second["generated_at"]
    assert first["provenance"]["snapshots"] != second["provenance"]["snapshots"]


def test_generated_at_is_the_newest_stored_state():
    report = report_of(incident_state(captured_at=T0 + 100))
    assert report["generated_at"] == "2023-11-14T22:15:20.000Z"  # latest captured at T0 + 120


def test_a_suspect_deploys_error_rates_are_volatile():
    first = report_of(incident_state(cause="deploy", changes=[DEPLOY], suspect="sig_deploy", rates=RATES))
    other_rates = {"sig_deploy": {**RATES["sig_deploy"], "after": {"failed": 60, "total": 100, "error_rate": 0.6}}}
    second = report_of(incident_state(cause="deploy", changes=[DEPLOY], suspect="sig_deploy", rates=other_rates))
    assert first["what_changed"]["items"][0]["error_rates"] != second["what_changed"]["items"][0]["error_rates"]
    assert first["report_hash"] == second["report_hash"]


@pytest.mark.parametrize("change", [
    {"state": "recovering"},
    {"failed": 13},
    {"changes": [DEPENDENCY]},
    {"traces": ("f000", "f001", "f009")},
])
def test_a_material_change_changes_the_hash(change):
    assert report_of(incident_state(**change))["report_hash"] != report_of(incident_state())["report_hash"]


def test_fingerprint_ignores_counts_and_follows_evidence():
    base = report_of(incident_state())
    assert report_of(incident_state(failed=30, total=90))["evidence_fingerprint"] == base["evidence_fingerprint"]
    assert report_of(incident_state(changes=[DEPENDENCY]))["evidence_fingerprint"] != base["evidence_fingerprint"]


def test_deploy_suspect_carries_what_ci_sent_and_is_named_in_the_summary():
    report = report_of(incident_state(cause="deploy", changes=[DEPLOY, DEPENDENCY], suspect="sig_deploy",
                                      runner_up="sig_dep", rates=RATES))
    items = {i["id"]: i for i in report["what_changed"]["items"]}
    assert items["sig_deploy"]["role"] == "suspect" and items["sig_dep"]["role"] == "runner_up"
    assert items["sig_deploy"]["details"]["commit"] == "4e1f0c9a7b2d11aa"
    assert items["sig_deploy"]["offset_seconds"] == -180.0 and items["sig_deploy"]["relation"] == "before"
    assert "the deploy of payment 3.2.0" in report["summary"]
    assert "error_rates" not in items["sig_dep"]


def test_dependency_cause_names_the_dependency_in_the_summary():
    assert "failing calls to card-processor" in report_of(incident_state())["summary"]


def test_app_cause_gets_a_check_naming_the_exception():
    incident = incident_state(cause="app")
    propagation = incident["snapshots"][("propagation", "latest")]
    propagation["exception"] = {"type": "KeyError", "message": "'currency'"}
    checks = [c["text"] for c in report_of(incident)["next_checks"]]
    assert any("KeyError" in c and "'currency'" in c and "payment POST /charge" in c for c in checks)


def test_a_past_incident_becomes_a_next_check_citing_it():
    past = past_incident("inc_20231101_0900_abcdef", T0 - 86400)
    report = report_of(incident_state(similar=[past]))
    check = report["next_checks"][-1]
    assert check["evidence"] == ["incident:inc_20231101_0900_abcdef"]
    assert "inc_20231101_0900_abcdef" in check["text"] and "what fixed it" in check["text"]
    still_open = report_of(incident_state(similar=[past_incident("inc_20231101_0900_abcdef", T0 - 600,
                                                                state="active")]))
    assert "still active" in still_open["next_checks"][-1]["text"]


def test_old_incident_keeps_the_engines_origin_and_its_cited_traces():
    report = report_of({**incident_state(), "snapshots": {}})
    where = report["where_it_started"]
    assert where["path_source"] == "engine" and where["origin"]["via"] == "card-processor"
    assert {"trace:f000", "trace:f001", "trace:f002"} <= {e["id"] for e in report["evidence"]}
