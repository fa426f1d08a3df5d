"""The engine and the incident log on a real database (SQLite and PostgreSQL) with a fake clock:
a person's resolve and reopen are applied and kept; a failure that returns after a manual
resolve opens a new incident that follows the old one; severity is derived and a person's
severity is kept; a declared incident stays open until a person resolves it; a second
payment_502 a day later lists the first as similar, with the reason."""

from __future__ import annotations

import pytest

from server.engine.tick import Engine
from server.incidentlog.actions import PersonEntry, record_entry
from server.incidentlog.declare import Declaration, declare
from server.ingest.alerts import ingest_alerts
from server.notify.model import Rule
from server.store import catalog, db, incidents, lease, timeline
from server.store import channels as channel_store
from tests.support.triage_traffic import T0, Fault, burst, play, send, signal, tick_until

DAY = 86400.0
PAYMENT_502 = Fault(processor="http_502")


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "test-engine")


def act(incident_id: str, kind: str, at: float, author: str = "alice", body: str = "", **fields) -> dict:
    return record_entry(incident_id, PersonEntry(kind, author, body, fields), None, at)


def state(incident_id: str) -> str:
    return incidents.get_incident(incident_id)["state"]


def tick(engine: Engine, at: float):
    assert lease.try_acquire(engine.holder, at, engine.settings.lease_seconds)
    result = engine.tick(at)
    assert result.committed
    return result


def test_a_manual_resolve_is_applied_at_the_next_tick_and_never_flipped_back(store, engine):
    played = play(store, engine, PAYMENT_502)
    act(played.incident_id, "resolve", T0 + 31, reason="rolled back the card processor config")
    assert state(played.incident_id) == "active"  # a person's decision is data the engine applies
    tick(engine, T0 + 40)
    incident = incidents.get_incident(played.incident_id)
    assert incident["state"] == "resolved" and incident["manual_state"] == "resolved"
    assert incident["transitions"][-1]["reason"] == "resolved by alice: rolled back the card processor config"
    # The failure goes on: the resolved incident stays resolved; the spike is a new incident that follows it.
    send(store, burst(T0 + 45, PAYMENT_502, prefix="g"), T0 + 52)
    opened = tick_until(engine, T0 + 50, T0 + 70)
    assert state(played.incident_id) == "resolved"
    assert len(opened) == 1 and incidents.get_incident(opened[0])["follows"] == played.incident_id


def test_a_new_spike_after_a_manual_resolve_opens_a_new_incident_that_follows_the_old_one(store, engine):
    first = play(store, engine, PAYMENT_502)
    act(first.incident_id, "resolve", T0 + 31, reason="fixed")
    tick(engine, T0 + 40)
    second = play(store, engine, PAYMENT_502, at=T0 + 3600, prefix="s")
    assert second.incident_id != first.incident_id
    assert incidents.get_incident(second.incident_id)["follows"] == first.incident_id
    new_bodies = [e["body"] for e in timeline.timeline_of(second.incident_id)]
    old_bodies = [e["body"] for e in timeline.timeline_of(first.incident_id)]
    assert any(f"the failure of {first.incident_id} came back after alice resolved it by hand" in b for b in new_bodies)
    assert any(f"{second.incident_id} follows this incident" in b for b in old_bodies)


def test_a_failure_that_ended_on_its_own_is_similar_but_not_followed(store, engine):
    first = play(store, engine, PAYMENT_502)
    tick_until(engine, T0 + 600, T0 + 1000, every=100)
    assert state(first.incident_id) == "resolved"
    second = play(store, engine, PAYMENT_502, at=T0 + 3600, prefix="s")
    assert incidents.get_incident(second.incident_id)["follows"] is None


def test_a_reopened_incident_is_held_active_until_a_person_resolves_it(store, engine):
    played = play(store, engine, PAYMENT_502)
    tick_until(engine, T0 + 600, T0 + 1000, every=100)
    assert state(played.incident_id) == "resolved"
    act(played.incident_id, "reopen", T0 + 1001, reason="customers still see failed payments")
    tick(engine, T0 + 1010)
    assert state(played.incident_id) == "active"
    # Quiet for far longer than the resolve period: still held active.
    tick_until(engine, T0 + 1100, T0 + 2500, every=200)
    assert state(played.incident_id) == "active"
    act(played.incident_id, "resolve", T0 + 2501, reason="confirmed with support")
    tick(engine, T0 + 2510)
    assert state(played.incident_id) == "resolved"
    reasons = [t["reason"] for t in incidents.get_incident(played.incident_id)["transitions"]]
    assert "reopened by alice: customers still see failed payments" in reasons
    assert reasons[-1] == "resolved by alice: confirmed with support"


def test_severity_is_derived_from_the_blast_radius_and_a_persons_choice_is_kept(store, engine):
    played = play(store, engine, PAYMENT_502)
    incident = incidents.get_incident(played.incident_id)
    # Every payment failed: error rate 100% reaches P1 under the default thresholds.
    assert (incident["severity"], incident["severity_source"]) == ("P1", "derived")
    assert "error rate 100.0% reaches P1" in incident["severity_reason"]
    act(played.incident_id, "severity", T0 + 31, body="only card payments, a fallback exists", severity="P3")
    send(store, burst(T0 + 35, PAYMENT_502, prefix="h"), T0 + 42)
    tick_until(engine, T0 + 40, T0 + 60)
    incident = incidents.get_incident(played.incident_id)
    assert (incident["severity"], incident["severity_source"], incident["severity_by"]) == ("P3", "manual", "alice")
    kinds = [(e["kind"], e["author"]) for e in timeline.timeline_of(played.incident_id)]
    assert ("severity", "onset") in kinds and ("severity", "alice") in kinds


def test_a_declared_incident_gets_evidence_from_the_recent_window_and_stays_open_until_resolved(store, engine):
    played = play(store, engine, PAYMENT_502)
    declared_id = declare(Declaration("payment", None, "customers report double charges", "P2", "bob"), store,
                          None, T0 + 32)
    incident = incidents.get_incident(declared_id)
    assert incident["kind"] == "declared" and incident["state"] == "active" and incident["title"]
    assert (incident["severity"], incident["severity_source"]) == ("P2", "manual")
    assert {f["step"] for f in incident["families"]} == {"POST /charge"}  # payment's failing family, found
    assert ("blast", "opening") in incident["snapshots"]
    assert incident["snapshots"][("blast", "opening")]["requests"]["failed"] > 0
    assert "evidence is from payment's last 60s" in incident["analysis"]["detection"]["declared"]["note"]
    tick_until(engine, T0 + 600, T0 + 1200, every=100)
    assert state(declared_id) == "active"  # held by its declaration; the spike's own incident resolved
    assert state(played.incident_id) == "resolved"
    act(declared_id, "resolve", T0 + 1201, reason="refunds sent")
    tick(engine, T0 + 1210)
    assert state(declared_id) == "resolved"


def test_a_declared_incident_on_a_quiet_service_says_nothing_failed(store, engine):
    declared_id = declare(Declaration("search", "production", "a customer cannot find anything", None, "bob"), store,
                          None, T0)
    incident = incidents.get_incident(declared_id)
    assert [(f["step"], f["error_code"]) for f in incident["families"]] == [("*", "declared")]
    assert incident["analysis"]["detection"]["declared"]["note"].endswith("nothing failed there")
    assert incident["severity"] == "P4"


def test_a_second_payment_502_a_day_later_lists_the_first_as_similar_with_the_reason(store, engine):
    first = play(store, engine, PAYMENT_502)
    tick_until(engine, T0 + 600, T0 + 1000, every=100)
    second = play(store, engine, PAYMENT_502, at=T0 + DAY, prefix="d")
    items = incidents.get_incident(second.incident_id)["snapshots"][("similar", "latest")]["items"]
    assert items[0]["id"] == first.incident_id
    assert items[0]["match"] == "same_family" and items[0]["score"] == 0.8
    assert items[0]["reason"] == ("same family payment/POST /charge/upstream_timeout; same origin"
                                  " (payment POST /charge) and cause (dependency)")


def test_onsets_own_entries_evidence_added_and_notifications_sent(store, engine):
    channel = channel_store.create_channel("webhook", "ops", "https://hooks.example.com/x", None, [], T0)
    played = play(store, engine, PAYMENT_502)
    # A deploy of payment reported late, with a time before the onset: new evidence, and the cause moves.
    signal(store, {"service": "payment", "version": "4.2.0", "ts": T0 - 30}, T0 + 31, deploy=True)
    tick(engine, T0 + 40)
    db.execute("UPDATE notifications SET state = 'delivered', delivered_at = ? WHERE subject_id = ?",
               (T0 + 41, played.incident_id))
    entries = timeline.timeline_of(played.incident_id)
    by_kind = {e["kind"]: e for e in entries}
    assert by_kind["evidence"]["body"].startswith("evidence added: deploy of payment 4.2.0")
    assert by_kind["evidence"]["author"] == "onset"
    notified = [e for e in entries if e["kind"] == "notification"]
    assert notified and notified[0]["body"] == "notified webhook ops: opened"
    assert notified[0]["data"]["channel"] == channel.name
    assert [e["ts"] for e in entries] == sorted(e["ts"] for e in entries)


def test_declaring_notifies_opened_like_a_spike(store, engine):
    channel_store.create_channel("webhook", "ops", "https://hooks.example.com/x", None, [], T0)
    declared_id = declare(Declaration("payment", "production", "customer report", None, "bob"), store, None, T0)
    rows = db.fetchall("SELECT event, summary FROM notifications WHERE subject_id = ?", (declared_id,))
    assert rows == [("opened", f"{declared_id} opened: payment declared (cause unknown)")]


def test_a_team_rule_routes_the_services_the_catalog_gives_that_team(store, engine):
    catalog.put_service("payment", "payments", None, None, "admin", T0)
    payments = channel_store.create_channel("webhook", "payments", "https://hooks.example.com/p", None,
                                            [Rule(team=("payments",))], T0)
    others = channel_store.create_channel("webhook", "search", "https://hooks.example.com/s", None,
                                          [Rule(team=("search",))], T0)
    played = play(store, engine, PAYMENT_502)
    channels = {r[0] for r in db.fetchall("SELECT channel_id FROM notifications WHERE subject_id = ?",
                                          (played.incident_id,))}
    assert payments.id in channels and others.id not in channels


def test_a_cause_that_changes_is_on_the_timeline(store, engine):
    played = play(store, engine, PAYMENT_502)
    # A crash of payment reported late, just before the onset: a runtime cause outranks the dependency.
    signal(store, {"type": "runtime", "service": "payment", "reason": "OOMKilled", "ts": T0 + 2}, T0 + 31)
    tick(engine, T0 + 40)
    changed = [e for e in timeline.timeline_of(played.incident_id) if e["kind"] == "cause"]
    assert [e["body"] for e in changed] == ["cause dependency (high) → runtime (high confidence)"]


def test_a_similar_error_message_with_other_numbers_is_part_of_the_reason(store, engine):
    first = play(store, engine, Fault(checkout="PaymentError", exception_message="card processor answered 502 after"
                                                                                 " 2981 ms (attempt 3)"))
    tick_until(engine, T0 + 600, T0 + 1000, every=100)
    second = play(store, engine, Fault(checkout="GatewayError", exception_message="card processor answered 502"
                                                                                  " after 3120 ms (attempt 1)"),
                  at=T0 + DAY, prefix="m")
    items = incidents.get_incident(second.incident_id)["snapshots"][("similar", "latest")]["items"]
    found = next(i for i in items if i["id"] == first.incident_id)
    # The gateway's E502 family is shared; checkout's own family is new (its code differs).
    assert found["reason"].startswith("same family gateway/POST /api/checkout/E502; same origin (checkout POST"
                                      " /checkout) and cause (app); error messages 78% alike with numbers and ids"
                                      " masked")
    assert found["score"] == round(0.5 + 0.3 + 0.2 * 0.778, 3)


def test_an_attached_alert_is_on_the_timeline(store, engine):
    played = play(store, engine, PAYMENT_502)
    ingest_alerts({"name": "PaymentErrors", "service": "payment", "env": "production", "trace_id": "f001",
                   "starts_at": T0 + 8}, "onset", store, T0 + 31)
    tick(engine, T0 + 40)
    attached = [e for e in timeline.timeline_of(played.incident_id) if e["kind"] == "alert"]
    assert len(attached) == 1 and attached[0]["author"] == "onset"
    assert attached[0]["body"].startswith("alert attached: PaymentErrors from onset (")


def test_a_declared_incident_routes_by_its_severity(store, engine):
    p2 = channel_store.create_channel("webhook", "p2", "https://hooks.example.com/p2", None,
                                      [Rule(severity=("P1", "P2"))], T0)
    declared_id = declare(Declaration("payment", "production", "customer report", "P2", "bob"), store, None, T0)
    assert db.fetchall("SELECT channel_id FROM notifications WHERE subject_id = ?", (declared_id,)) == [(p2.id,)]
