"""The grounding check: a narration may name only what the report holds, never contradict
its cause, and never be fed facts by sender-controlled text such as an alert annotation."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from server.narration.facts import facts_of
from server.narration.grounding import MAX_CHARS, check_narration
from tests.support.narration import ALERT, report
from tests.support.triage_state import ONSET, signal_record

DEPLOY = signal_record("sig_deploy", "deploy", "payment", ONSET - 180, reason="deployed 3.2.0", version="3.2.0",
                       commit="4e1f0c9a7b2d11aa", author="alice")
RATES = {"sig_deploy": {"window_seconds": 60.0, "before": {"failed": 1, "total": 100, "error_rate": 0.01},
                        "after": {"failed": 30, "total": 100, "error_rate": 0.3}}}
FACTS = facts_of(report())
STATES = {
    "dependency": {},
    "deploy": {"cause": "deploy", "changes": [DEPLOY], "suspect": "sig_deploy", "rates": RATES},
    "app": {"cause": "app"},
    "unknown": {"cause": "unknown"},
    "resolved": {"state": "resolved"},
    "with an injected alert": {"alerts": [ALERT]},
}


def violations(text: str, **overrides) -> list[dict]:
    return list(check_narration(text, facts_of(report(**overrides))).violations)


def kinds(text: str, **overrides) -> set[str]:
    return {v["kind"] for v in violations(text, **overrides)}


@pytest.mark.parametrize("name", sorted(STATES))
def test_the_templated_summary_is_always_grounded(name):
    # The fallback must pass the check it stands in for, whatever the incident.
    r = report(**STATES[name])
    assert check_narration(r["summary"], facts_of(r)).ok, check_narration(r["summary"], facts_of(r)).reason()


def test_a_faithful_paraphrase_is_accepted():
    text = ("Since 22:13 UTC on 2023-11-14, payment's POST /charge has been failing with upstream_timeout: 12 of"
            " 40 requests (30%) failed, 3 users were hit through gateway. Because calls to card-processor time out,"
            " the likely cause is the card-processor dependency (high confidence).")
    assert violations(text) == []


def test_a_faithful_deploy_narration_is_accepted():
    text = ("payment POST /charge started failing with upstream_timeout 3 minutes after payment 3.2.0 was deployed"
            " (commit 4e1f0c9a7b2d by alice). The deploy is the likely cause, with high confidence.")
    assert violations(text, **STATES["deploy"]) == []


def test_an_invented_service_is_rejected():
    found = violations("The billing service is failing; calls to ledger-api time out (high confidence).")
    assert {("service", "billing"), ("name", "ledger-api")} <= {(v["kind"], v["value"]) for v in found}


def test_an_invented_deploy_and_version_are_rejected():
    found = kinds("payment 4.0.1 was deployed just before the failures began.")
    assert {"version", "change"} <= found


def test_an_invented_version_of_a_real_deploy_is_rejected():
    assert "version" in kinds("The deploy of payment v3.3.0 is the likely cause (high confidence).", **STATES["deploy"])


def test_a_wrong_cause_is_rejected():
    found = violations("payment POST /charge is failing; the root cause is a bug inside payment (high confidence).")
    assert [v["kind"] for v in found] == ["cause"]
    assert "the report's cause is dependency" in found[0]["why"]


def test_a_cause_the_report_does_not_know_is_not_claimed():
    assert "cause" in kinds("The failures were caused by calls to card-processor timing out.", cause="unknown")


def test_the_runner_up_may_be_named_after_the_cause_but_not_instead_of_it():
    assert "cause" not in kinds("Likely cause: failing calls to card-processor, not a bug in payment.")
    assert "cause" in kinds("Likely cause: a bug in payment, not failing calls to card-processor.")


def test_a_wrong_confidence_is_rejected():
    assert kinds("Failing calls to card-processor are the likely cause (low confidence).") == {"confidence"}


@pytest.mark.parametrize("text, kind", [
    ("13 of 40 requests failed.", "number"),
    ("12 of 40 requests failed (45%).", "number"),
    ("The failures started at 23:13.", "time"),
    ("The failures started on 2023-11-15.", "time"),
    ("payment GET /refund is failing.", "step"),
    ("payment is failing with PMT_503.", "error_code"),
    ("The failures come from a NullPointerException in payment.", "error_code"),
    ("Revert commit 9b8c7d6e5f4a in payment.", "name"),
    ("payment crashed with an OOM kill.", "change"),
    ("A config change to payment is to blame.", "change"),
    ("", "length"),
    ("payment is failing. " * (MAX_CHARS // 10), "length"),
])
def test_each_kind_of_invented_fact_is_rejected(text, kind):
    assert kind in kinds(text)


def test_each_violation_is_named_with_why():
    found = violations("The billing service is failing.")
    assert found == [{"kind": "service", "value": "billing", "why": "no such service in the report"}]


def test_an_alert_annotation_never_becomes_a_fact():
    facts = facts_of(report(**STATES["with an injected alert"]))
    assert "billing-ledger" not in facts.names and "9.9.9" not in facts.versions and "v9.9.9" not in facts.versions
    assert "04:00" not in facts.times
    assert "PaymentErrors" in facts.identifiers  # the alert's name is a label: a fact


def test_a_narration_that_obeys_an_injected_annotation_is_rejected():
    obeyed = "The root cause is the deploy of billing-ledger v9.9.9 at 04:00, and 9000 requests failed."
    found = {(v["kind"], v["value"]) for v in violations(obeyed, **STATES["with an injected alert"])}
    assert {("name", "billing-ledger"), ("version", "v9.9.9"), ("time", "04:00"), ("number", "9000")} <= found
    assert any(kind == "cause" for kind, _ in found) and any(kind == "change" for kind, _ in found)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=400))
def test_the_check_never_raises_on_any_text(text):
    check_narration(text, FACTS)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet="0123456789.,:-/ vVxPOSTabcE_%", max_size=80))
def test_the_check_never_raises_on_number_and_name_soup(text):
    check_narration(text, FACTS)
