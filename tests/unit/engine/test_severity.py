"""engine/severity.py: P1..P4 from the blast radius; a person's severity is kept; derived ones only rise."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings
from server.engine.severity import SeverityRules, SeverityVerdict, derive_severity, next_severity, parse_rule

RULES = SeverityRules(parse_rule("error_rate>=0.5,users>=1000"), parse_rule("error_rate>=0.2,users>=100,services>=3"),
                      parse_rule("error_rate>=0.05,users>=10"))


def blast(rate: float | None = 0.01, users: int | None = 1, failed: int = 5, services: int = 1) -> dict:
    return {"status": "ok", "requests": {"failed": failed, "total": 500}, "error_rate": rate, "users": users,
            "services": [{"service": f"s{i}", "failing_traces": 1, "failing_events": 1} for i in range(services)]}


@pytest.mark.parametrize(("snapshot", "level"), [
    (blast(rate=1.0), "P1"), (blast(users=1000), "P1"),
    (blast(rate=0.25), "P2"), (blast(users=150), "P2"), (blast(services=3), "P2"),
    (blast(rate=0.05), "P3"), (blast(users=10), "P3"),
    (blast(), "P4"), (blast(rate=None, users=None), "P4"),
])
def test_the_first_level_whose_rule_holds_is_the_severity(snapshot, level):
    assert derive_severity(snapshot, RULES).level == level


def test_the_reason_names_the_measured_value_and_the_threshold():
    assert derive_severity(blast(rate=1.0), RULES).reason == "error rate 100.0% reaches P1 (error rate >= 50%)"
    assert derive_severity(blast(users=150), RULES).reason == "users 150 reaches P2 (users >= 100)"
    assert derive_severity(blast(), RULES).reason == "below every P3 threshold"


def test_no_blast_evidence_is_p4_and_says_so():
    assert derive_severity(None, RULES) == SeverityVerdict("P4", "no blast radius captured yet")
    assert derive_severity({"status": "missing"}, RULES).level == "P4"


def test_a_persons_severity_is_kept_over_every_derivation():
    assert next_severity("P3", "manual", SeverityVerdict("P1", "worse")) is None


def test_a_derived_severity_only_rises():
    assert next_severity(None, None, SeverityVerdict("P3", "x")).level == "P3"
    assert next_severity("P3", "derived", SeverityVerdict("P1", "x")).level == "P1"
    assert next_severity("P1", "derived", SeverityVerdict("P3", "recovering")) is None
    assert next_severity("P2", "derived", SeverityVerdict("P2", "same")) is None


@pytest.mark.parametrize("text", ["error_rate=0.5", "latency>=3", "users>=many", "users>=-1"])
def test_a_bad_rule_is_refused_naming_the_part(text):
    with pytest.raises(ValueError, match=text.split(",")[0][:5]):
        parse_rule(text)


def test_the_thresholds_are_settings_validated_once():
    settings = load_settings({"ONSET_SEVERITY_P1": "users>=5"})
    assert derive_severity(blast(users=5), settings.severity_rules).level == "P1"
    with pytest.raises(ConfigError, match="ONSET_SEVERITY_P2"):
        load_settings({"ONSET_SEVERITY_P2": "blast>=1"})
