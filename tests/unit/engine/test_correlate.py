"""engine/correlate.py on plain data: which alerts attach to which open incident, and why."""

from __future__ import annotations

from server.engine.correlate import (
    AlertFacts,
    AlertLink,
    incident_facts,
    match_alerts,
    match_reason,
    same_env,
)
from tests.support.factories import T0, family

WINDOW = 600.0
NOW = T0 + 900
PAYMENT = family("payment", "POST /charge", "PMT_502")
GATEWAY = family("gateway", "POST /api/checkout", "E502")
ANALYSIS = {"origin": {"service": "card-api", "error_code": "timeout",
                       "path": [{"service": "checkout", "error_code": "E502"}]}}


def incident(families=(PAYMENT,), onset: float = T0, analysis=None, incident_id: str = "inc_1"):
    return incident_facts(incident_id, families, onset, analysis if analysis is not None else ANALYSIS)


def alert(alert_id: str = "alt_1", *, service: str | None = "payment", env: str | None = "production",
          starts_at: float = T0, ends_at: float | None = None, trace_id: str | None = None,
          error_code: str | None = None) -> AlertFacts:
    return AlertFacts(alert_id, service, env, starts_at, ends_at, trace_id, error_code)


def reason(inc, a, traces=None):
    return match_reason(inc, a, traces or {}, WINDOW, NOW)


def test_incident_facts_name_the_origin_the_path_and_the_families():
    facts = incident()
    assert facts.services == {"payment", "card-api", "checkout"}
    assert facts.error_codes == {"pmt_502", "timeout", "e502"}
    assert facts.env == "production"


def test_alert_of_the_same_service_near_the_onset_attaches_before_or_after_it():
    assert reason(incident(), alert(starts_at=T0 - 590)) == "service"
    assert reason(incident(), alert(starts_at=T0 + 590)) == "service"


def test_alert_of_the_same_service_outside_the_window_does_not_attach():
    assert reason(incident(), alert(starts_at=T0 - 601)) is None
    assert reason(incident(), alert(starts_at=T0 + 601)) is None


def test_an_affected_service_on_the_path_or_the_origin_matches_too():
    assert reason(incident(), alert(service="checkout")) == "service"
    assert reason(incident(), alert(service="card-api")) == "service"
    assert reason(incident(), alert(service="inventory")) is None


def test_env_must_match_but_its_spellings_are_one_env():
    assert reason(incident(), alert(env="prod")) == "service"
    assert reason(incident(), alert(env=None)) == "service"  # an alert that names no env matches any
    assert reason(incident(), alert(env="staging")) is None
    assert same_env("PRD", "production") and same_env("stage", "staging") and not same_env("dev", "production")


def test_alert_carrying_a_trace_of_the_incident_attaches_whatever_its_service():
    traces = {"t1": frozenset({PAYMENT}), "t2": frozenset({GATEWAY})}
    assert reason(incident(), alert(service="inventory", trace_id="t1"), traces) == "trace_id"
    assert reason(incident(), alert(service="inventory", trace_id="t2"), traces) is None
    assert reason(incident(), alert(service="inventory", trace_id="unknown"), traces) is None


def test_alert_carrying_an_error_code_of_the_incident_attaches_while_it_overlaps():
    assert reason(incident(), alert(service=None, error_code="PMT_502", starts_at=T0 - 3600)) == "error_code"
    assert reason(incident(), alert(service=None, error_code="timeout")) == "error_code"  # the origin's
    # Ended long before the onset: it belongs to an earlier episode.
    assert reason(incident(), alert(service=None, error_code="PMT_502", starts_at=T0 - 7200,
                                    ends_at=T0 - 3600)) is None
    assert reason(incident(), alert(service=None, error_code="E999")) is None


def test_vague_error_codes_tie_nothing():
    vague = incident(families=(family("payment", "POST /charge", "unknown"),), analysis={})
    assert reason(vague, alert(service=None, error_code="unknown")) is None


def test_trace_beats_error_code_beats_service():
    traces = {"t1": frozenset({PAYMENT})}
    assert reason(incident(), alert(trace_id="t1", error_code="PMT_502"), traces) == "trace_id"
    assert reason(incident(), alert(error_code="PMT_502")) == "error_code"


def test_alert_that_starts_after_now_is_not_matched_by_code():
    assert reason(incident(), alert(service=None, error_code="PMT_502", starts_at=NOW + 1)) is None


def test_match_alerts_links_each_pair_in_a_stable_order_and_an_alert_may_join_two_incidents():
    first, second = incident(incident_id="inc_b"), incident((GATEWAY,), analysis={}, incident_id="inc_a")
    alerts = [alert("alt_2", service="gateway"), alert("alt_1", error_code="PMT_502", service=None),
              alert("alt_3", service="inventory")]
    links = match_alerts([first, second], alerts, {}, WINDOW, NOW)
    assert links == [AlertLink("inc_a", "alt_2", "service"), AlertLink("inc_b", "alt_1", "error_code")]
    both = match_alerts([first, second], [alert("alt_9", service=None, env=None, error_code="E502")], {}, WINDOW, NOW)
    assert [link.incident_id for link in both] == ["inc_a", "inc_b"]


def test_nothing_matches_without_open_incidents():
    assert match_alerts([], [alert()], {}, WINDOW, NOW) == []
