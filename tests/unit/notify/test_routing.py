"""notify.events, routing and outbox: which state changes become notices, which channels
take them and why, and the dedupe key of each outbox row."""

from __future__ import annotations

from server.notify.events import (
    CauseMove,
    HealthMove,
    IncidentFacts,
    StateMove,
    health_notices,
    incident_notices,
)
from server.notify.model import Channel, Notice, Rule
from server.notify.outbox import dedupe_key, outbox_rows
from server.notify.routing import route

T0 = 1_700_000_000.0
CHECKOUT = IncidentFacts("inc_a", "checkout", "production", "POST /checkout", "E500", "deploy")
PAYMENT = IncidentFacts("inc_b", "payment", "staging", "POST /charge", "timeout", "dependency")


def channel(id: str = "chn_1", type: str = "webhook", *rules: Rule, removed_at: float | None = None) -> Channel:
    return Channel(id, type, id, "https://example.test/hook", None, tuple(rules), T0, removed_at)


def notice(event: str = "opened", **attributes) -> Notice:
    attrs = {"service": "checkout", "env": "production", "severity": None, "cause": "deploy", **attributes}
    return Notice("incident", "inc_a", event, T0, "inc_a opened", attrs)


def test_each_incident_state_change_becomes_its_notice():
    notices = incident_notices(
        [CHECKOUT], {"inc_a": T0},
        [StateMove("inc_b", "active", "recovering", T0 + 1), StateMove("inc_b", "recovering", "active", T0 + 2),
         StateMove("inc_b", "recovering", "resolved", T0 + 3)],
        [CauseMove("inc_b", "app", "dependency", T0 + 4)], {"inc_b": PAYMENT})
    assert [(n.subject_id, n.event) for n in notices] == [
        ("inc_a", "opened"), ("inc_b", "cause_changed"), ("inc_b", "recovering"), ("inc_b", "reactivated"),
        ("inc_b", "resolved")]
    assert notices[0].attributes == {"service": "checkout", "env": "production", "severity": None, "cause": "deploy"}
    assert notices[1].attributes["cause"] == "dependency"
    assert "from app to dependency" in notices[1].summary


def test_health_alerts_notify_raised_and_cleared_and_route_their_key_as_cause():
    moves = [HealthMove("hal_1", "raised", "service_silent", "service:payment@production", "critical", "payment",
                        "production", "payment sent nothing", T0),
             HealthMove("hal_1", "cleared", "service_silent", "service:payment@production", "critical", "payment",
                        "production", "traffic returned", T0 + 5)]
    notices = health_notices(moves)
    assert [(n.subject_kind, n.event) for n in notices] == [("health_alert", "raised"), ("health_alert", "cleared")]
    assert notices[0].attributes == {"service": "payment", "env": "production", "severity": "critical",
                                     "cause": "service_silent"}


def test_a_channel_without_rules_takes_every_notice():
    assert route(notice(), channel()) == (True, "no rules: every notice")


def test_rule_fields_are_any_of_lists_and_every_field_must_match():
    ch = channel("chn_1", "webhook", Rule(service=("payment", "checkout"), env=("production",)))
    assert route(notice(), ch) == (True, "rule 1 matched")
    taken, why = route(notice(env="staging"), ch)
    assert not taken and why == "rule 1: env staging not in production"


def test_the_first_matching_rule_of_several_takes_it():
    ch = channel("chn_1", "webhook", Rule(cause=("runtime",)), Rule(events=("opened", "resolved")))
    assert route(notice(), ch) == (True, "rule 2 matched")
    assert route(notice("recovering"), ch)[0] is False


def test_a_rule_naming_severities_does_not_take_a_notice_without_one():
    ch = channel("chn_1", "webhook", Rule(severity=("critical",)))
    assert route(notice(), ch) == (False, "rule 1: severity unknown")
    assert route(notice(severity="critical"), ch)[0]


def test_pagerduty_does_not_carry_recovering_and_a_removed_channel_takes_nothing():
    assert route(notice("recovering"), channel("chn_p", "pagerduty")) == (
        False, "pagerduty channels do not carry recovering")
    assert route(notice("resolved"), channel("chn_p", "pagerduty"))[0]
    assert route(notice(), channel(removed_at=T0)) == (False, "channel removed")


def test_outbox_rows_carry_a_dedupe_key_per_change_and_channel():
    first, second = channel("chn_1"), channel("chn_2", "slack")
    rows = outbox_rows([notice(), notice("recovering")], [first, second])
    assert [(r.event, r.channel_id) for r in rows] == [("opened", "chn_1"), ("opened", "chn_2"),
                                                       ("recovering", "chn_1"), ("recovering", "chn_2")]
    assert len({r.dedupe_key for r in rows}) == 4
    assert rows[0].dedupe_key == f"incident/inc_a/opened/{round(T0 * 1000)}/chn_1"
    assert rows[0].route == "no rules: every notice"


def test_the_same_change_always_gets_the_same_dedupe_key_and_a_later_one_another():
    assert dedupe_key(notice(), "chn_1") == dedupe_key(notice(), "chn_1")
    later = Notice("incident", "inc_a", "recovering", T0 + 60, "", {})
    assert dedupe_key(notice("recovering"), "chn_1") != dedupe_key(later, "chn_1")


def test_an_incident_a_person_reopens_is_notified_as_reactivated():
    [reopened] = incident_notices([], {}, [StateMove("inc_b", "resolved", "active", T0)], [], {"inc_b": PAYMENT})
    assert reopened.event == "reactivated"
