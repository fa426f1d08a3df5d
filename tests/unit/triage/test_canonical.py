"""Canonical JSON, report_hash (volatile fields left out) and evidence_fingerprint."""

from __future__ import annotations

import copy
import hashlib
import json

from server.triage.canonical import canonical_json, evidence_fingerprint, hashable, report_hash
from server.triage.report import build_report
from tests.support.triage_state import ONSET, incident_state, signal_record


def report(**overrides) -> dict:
    base = {
        "schema": "triage.v1", "summary": "payment fails", "generated_at": "2023-11-14T22:13:40.000Z",
        "provenance": {"generator": "onset 0.1.0"}, "report_hash": "sha256:old",
        "what_changed": {"items": [{"id": "sig_1", "error_rates": {"before": 0.01, "after": 0.4}}]},
    }
    base.update(overrides)
    return base


def test_canonical_json_sorts_keys_without_whitespace_in_utf8():
    assert canonical_json({"b": 1, "a": [1, {"d": None, "c": "é"}]}) == '{"a":[1,{"c":"é","d":null}],"b":1}'.encode()


def test_report_hash_is_sha256_of_the_canonical_non_volatile_report():
    expected = hashlib.sha256(canonical_json(
        {"schema": "triage.v1", "summary": "payment fails", "what_changed": {"items": [{"id": "sig_1"}]}})).hexdigest()
    assert report_hash(report()) == f"sha256:{expected}"


def test_volatile_fields_do_not_change_the_hash():
    other = report(generated_at="2030-01-01T00:00:00.000Z", provenance={"generator": "onset 9"},
                   report_hash="sha256:whatever",
                   what_changed={"items": [{"id": "sig_1", "error_rates": {"before": 0.5, "after": 0.9}}]})
    assert report_hash(other) == report_hash(report())


def test_material_fields_change_the_hash():
    assert report_hash(report(summary="checkout fails")) != report_hash(report())
    assert report_hash(report(what_changed={"items": [{"id": "sig_2"}]})) != report_hash(report())


def test_key_order_does_not_matter_and_the_report_is_not_changed():
    original = report()
    kept = copy.deepcopy(original)
    reordered = dict(reversed(list(original.items())))
    assert report_hash(reordered) == report_hash(original)
    hashable(original)
    assert original == kept


def test_fingerprint_covers_the_set_of_ids_only():
    ids = ["trace:a", "family:x", "sig_1"]
    assert evidence_fingerprint(ids) == evidence_fingerprint(list(reversed(ids)) + ["trace:a"])
    assert evidence_fingerprint(ids) != evidence_fingerprint(ids + ["sig_2"])
    assert evidence_fingerprint(ids) != evidence_fingerprint(ids[:2])
    assert evidence_fingerprint(ids).startswith("sha256:") and len(evidence_fingerprint(ids)) == 71


def test_the_check_documented_in_triage_md_recomputes_the_hash_with_the_standard_library():
    rates = {"sig_d": {"window_seconds": 60.0, "before": {"failed": 0, "total": 9, "error_rate": 0.0},
                       "after": {"failed": 3, "total": 9, "error_rate": 0.3333}}}
    incident = incident_state(cause="deploy", suspect="sig_d", rates=rates,
                              changes=[signal_record("sig_d", "deploy", "payment", ONSET - 60, version="2 — ünïcode")])
    body = canonical_json(build_report(incident, incident["snapshots"]))
    report = json.loads(body)
    for key in ("generated_at", "provenance", "report_hash"):
        report.pop(key)
    for item in report["what_changed"]["items"]:
        item.pop("error_rates", None)
    canonical = json.dumps(report, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert "sha256:" + hashlib.sha256(canonical).hexdigest() == json.loads(body)["report_hash"]
