"""The notification outbox on a real database (SQLite and PostgreSQL): rows written with the
state change, claimed before sending, every attempt recorded, delivered once and in order.

The engine ticks with a fake clock; the delivery worker runs with a fake clock and a fake
sender here (tests/integration/test_flaky_receiver.py uses a real HTTP receiver).
"""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import wait

import orjson
import pytest

from server.engine.model import Family
from server.engine.tick import Engine
from server.notify.model import HttpRequest, Rule, SendResult
from server.notify.worker import DeliveryWorker
from server.store import channels as channel_store
from server.store import db, notifications
from server.store import incidents as incident_store
from server.store.db import write_transaction
from server.store.signals import SignalRecord, insert_signals
from tests.conftest import make_settings
from tests.support.factories import T0
from tests.support.ticking import Clock, burst, family_traffic, store_events, tick_through

CHECKOUT = Family("checkout", "production", "POST /checkout", "E500")
PAYMENT = Family("payment", "production", "POST /charge", "E503")


@pytest.fixture
def settings(db_url, tmp_path):
    return make_settings(db_url, str(tmp_path / "data"), resolve_after_seconds=60, notify_backoff_seconds=1,
                         notify_max_backoff_seconds=8, notify_give_up_seconds=3600, notify_timeout_seconds=5)


class FakeSender:
    """Answers from `statuses[url]` (a list consumed per call, the last repeated) and records calls."""

    def __init__(self, statuses: dict[str, list[int]] | None = None):
        self.statuses = statuses or {}
        self.calls: list[HttpRequest] = []
        self.lock = threading.Lock()

    def __call__(self, request: HttpRequest, timeout: float) -> SendResult:
        with self.lock:
            self.calls.append(request)
            script = self.statuses.get(request.url, [200])
            status = script.pop(0) if len(script) > 1 else script[0]
        return SendResult(status, retry_after=None, body="" if status < 300 else "nope", duration_ms=1.0)

    def dedupe_keys(self, url: str | None = None) -> list[str]:
        return [c.headers["X-Onset-Dedupe-Key"] for c in self.calls if url is None or c.url == url]


def settle(worker: DeliveryWorker) -> None:
    """Pump at the worker's current (fake) time until nothing more can be sent now."""
    for _ in range(200):
        started = worker.pump()
        if worker.inflight:
            wait(list(worker.inflight))
            continue
        if not started:
            return
    raise AssertionError("the worker never settled")


def incident_story(store_settings, *families: Family) -> list[str]:
    """Steady traffic, then a burst per family at T0: each opens, recovers and resolves."""
    store_events(store_settings, family_traffic(T0 - 300, T0 + 400, *families))
    for fam in families:
        store_events(store_settings, burst(fam, T0))
    tick_through(Engine(store_settings, "engine-1"), T0 - 60, T0 + 400)
    return [i["id"] for i in incident_store.list_incidents()]


def rows(**filters) -> list[dict]:
    return list(reversed(notifications.list_notifications(limit=1000, **filters)))


def hook(name: str, *rules: Rule, kind: str = "webhook", secret: str | None = None):
    added = len(channel_store.list_channels(include_removed=True))  # channels keep the order they were added in
    return channel_store.create_channel(kind, name, f"https://{name}.example.test/hook", secret, rules,
                                        T0 - 1000 + added)


# -- the outbox, written by the tick --------------------------------------------------------

def test_each_state_change_queues_one_row_per_channel_in_the_ticks_transaction(store):
    first, second = hook("first"), hook("second", kind="slack")
    [incident_id] = incident_story(store, CHECKOUT)
    queued = rows()
    assert [(r["event"], r["channel_id"]) for r in queued] == [
        ("opened", first.id), ("opened", second.id), ("recovering", first.id), ("recovering", second.id),
        ("resolved", first.id), ("resolved", second.id)]
    assert {r["subject_id"] for r in queued} == {incident_id}
    assert all(r["state"] == "pending" and r["attempts"] == 0 for r in queued)
    assert len({r["dedupe_key"] for r in queued}) == 6
    transitions = incident_store.get_incident(incident_id)["transitions"]
    # Each row's event time is its transition's: they were written together.
    assert [r["event_at"] for r in queued[::2]] == [t["at"] for t in transitions]


def test_a_tick_that_lost_the_lease_writes_neither_the_change_nor_its_notifications(store):
    hook("first")
    store_events(store, family_traffic(T0 - 300, T0 + 30, CHECKOUT))
    store_events(store, burst(CHECKOUT, T0))
    engine = Engine(store, "engine-1")
    tick_through(engine, T0 - 60, T0 - 10)
    with write_transaction():
        db.execute("UPDATE engine_lease SET holder = 'engine-2', expires_at = ?", (T0 + 1000,))
    assert not engine.tick(T0 + 10).committed
    assert incident_store.list_incidents() == [] and rows() == []


def test_routing_rules_choose_the_channels(store):
    payments = hook("payments", Rule(service=("payment",)))
    opened_only = hook("opened-only", Rule(events=("opened",)))
    incident_story(store, CHECKOUT, PAYMENT)
    assert {(r["channel_id"], r["summary"].split(" ")[1]) for r in rows()} == {
        (payments.id, "opened:"), (payments.id, "recovering:"), (payments.id, "resolved:"),
        (opened_only.id, "opened:")}
    assert all("payment" in r["summary"] for r in rows(channel_id=payments.id))
    assert len(rows(channel_id=opened_only.id)) == 2


def test_no_channel_no_rows(store):
    incident_story(store, CHECKOUT)
    assert rows() == []


# -- the delivery worker --------------------------------------------------------------------

def test_every_change_is_delivered_once_in_order_per_incident(store):
    first = hook("first")
    incident_story(store, CHECKOUT, PAYMENT)
    sender = FakeSender()
    settle(DeliveryWorker(store, "w1", clock=Clock(T0 + 500), sender=sender))
    assert len(sender.calls) == 6 and len(set(sender.dedupe_keys())) == 6
    for incident in incident_store.list_incidents():
        mine = [k.split("/")[2] for k in sender.dedupe_keys() if f"/{incident['id']}/" in k]
        assert mine == ["opened", "recovering", "resolved"]
    delivered = rows(channel_id=first.id)
    assert all(r["state"] == "delivered" and r["attempts"] == 1 for r in delivered)
    assert delivered[0]["attempt_log"][0]["outcome"] == "done"
    # Running again sends nothing more.
    settle(DeliveryWorker(store, "w2", clock=Clock(T0 + 600), sender=sender))
    assert len(sender.calls) == 6


def test_a_later_change_waits_for_the_earlier_one_of_the_same_incident_and_channel(store):
    flaky = hook("flaky")
    incident_story(store, CHECKOUT)
    sender = FakeSender({flaky.url: [503, 503, 200]})
    clock = Clock(T0 + 500)
    worker = DeliveryWorker(store, "w1", clock=clock, sender=sender)
    settle(worker)
    assert [c.headers["X-Onset-Event"] for c in sender.calls] == ["opened"]
    clock.now += 10
    settle(worker)
    clock.now += 10
    settle(worker)
    assert [c.headers["X-Onset-Event"] for c in sender.calls] == ["opened", "opened", "opened", "recovering",
                                                                   "resolved"]
    opened = rows(channel_id=flaky.id)[0]
    assert [(a["status_code"], a["outcome"], a["reason"]) for a in opened["attempt_log"]] == [
        (503, "retry", "server_error"), (503, "retry", "server_error"), (200, "done", "delivered")]


def test_a_failing_channel_does_not_delay_the_others(store):
    broken, healthy = hook("broken"), hook("healthy")
    incident_story(store, CHECKOUT)
    sender = FakeSender({broken.url: [500]})
    settle(DeliveryWorker(store, "w1", clock=Clock(T0 + 500), sender=sender))
    assert [r["state"] for r in rows(channel_id=healthy.id)] == ["delivered"] * 3
    assert [r["state"] for r in rows(channel_id=broken.id)] == ["pending"] * 3
    assert rows(channel_id=broken.id)[0]["last_reason"] == "server_error"


def test_a_channel_that_keeps_failing_is_given_up_and_marked_failed(store):
    broken = hook("broken")
    incident_story(store, CHECKOUT)
    sender = FakeSender({broken.url: [500]})
    clock = Clock(min(r["created_at"] for r in rows()))
    worker = DeliveryWorker(dataclasses.replace(store, notify_give_up_seconds=120), "w1", clock=clock, sender=sender)
    while clock.now < T0 + 600:
        settle(worker)
        clock.now += 3
    queued = rows(channel_id=broken.id)
    assert [r["state"] for r in queued] == ["failed"] * 3
    assert {r["last_reason"] for r in queued} == {"gave_up_after_120s"}
    for row in queued:
        # Retried with backoff until 120 s after it was queued: the last attempt at that
        # moment, none after.
        assert row["attempts"] == len(row["attempt_log"]) > 3
        assert row["created_at"] + 120 <= row["attempt_log"][-1]["started_at"] < row["created_at"] + 123
        assert row["failed_at"] >= row["created_at"] + 120


def test_a_rejected_notification_fails_at_once_and_the_next_one_goes(store):
    picky = hook("picky")
    incident_story(store, CHECKOUT)
    sender = FakeSender({picky.url: [400, 200]})
    settle(DeliveryWorker(store, "w1", clock=Clock(T0 + 500), sender=sender))
    assert [r["state"] for r in rows(channel_id=picky.id)] == ["failed", "delivered", "delivered"]
    assert rows(channel_id=picky.id)[0]["last_reason"] == "rejected"


def test_a_worker_that_died_after_claiming_is_taken_over_and_the_same_bytes_go_once(store):
    first = hook("first")
    incident_story(store, CHECKOUT)
    [head] = notifications.due_heads(T0 + 500, 1)
    assert notifications.claim(head, "dead-worker", T0 + 500, T0 + 510, '{"headers": {"X-Onset-Dedupe-Key": "k",'
                               ' "X-Onset-Event": "opened"}, "body": "{\\"frozen\\": true}"}')
    sender = FakeSender()
    settle(DeliveryWorker(store, "w2", clock=Clock(T0 + 505), sender=sender))
    assert sender.calls == []  # the claim still stands
    settle(DeliveryWorker(store, "w2", clock=Clock(T0 + 511), sender=sender))
    assert sender.calls[0].body == b'{"frozen": true}'  # the claimed payload, byte for byte
    assert len(sender.calls) == 3
    log = rows(channel_id=first.id)[0]["attempt_log"]
    assert [(a["outcome"], a["reason"]) for a in log] == [("unknown", "reclaimed"), ("done", "delivered")]
    assert rows(channel_id=first.id)[0]["attempts"] == 2


def test_a_late_result_from_a_worker_whose_claim_was_taken_does_not_move_the_row(store):
    hook("first")
    incident_story(store, CHECKOUT)
    [head] = notifications.due_heads(T0 + 500, 1)
    assert notifications.claim(head, "slow", T0 + 500, T0 + 501, "{}")
    [again] = notifications.due_heads(T0 + 502, 1)
    assert notifications.claim(again, "fast", T0 + 502, T0 + 520, "{}")
    attempt = notifications.Attempt(1, T0 + 500, 1.0, 200, None, "done", "delivered", None)
    assert not notifications.record_attempt(head.id, "slow", attempt, None, "delivered", T0 + 503)
    assert rows()[0]["state"] == "sending"


def test_rows_queued_before_a_restart_are_delivered_after_it(store):
    hook("first")
    incident_story(store, CHECKOUT)
    sender = FakeSender()
    db.close_database()  # the process that queued them is gone
    db.open_database(store.resolved_database_url, synchronous="NORMAL")
    settle(DeliveryWorker(store, "after-restart", clock=Clock(T0 + 900), sender=sender))
    assert len(sender.calls) == 3


def test_a_worker_whose_engine_does_not_lead_sends_nothing(store):
    hook("first")
    incident_story(store, CHECKOUT)
    sender = FakeSender()
    settle(DeliveryWorker(store, "standby", lambda: False, clock=Clock(T0 + 500), sender=sender))
    assert sender.calls == [] and all(r["state"] == "pending" for r in rows())


def test_the_rows_of_a_removed_channel_fail_without_being_sent(store):
    gone = hook("gone")
    incident_story(store, CHECKOUT)
    channel_store.remove_channel(gone.id, T0 + 450)
    sender = FakeSender()
    settle(DeliveryWorker(store, "w1", clock=Clock(T0 + 500), sender=sender))
    assert sender.calls == []
    assert {(r["state"], r["last_reason"]) for r in rows()} == {("failed", "channel removed")}


def test_the_webhook_body_carries_the_report_and_the_dedupe_key(store):
    first = hook("first", secret="s")
    [incident_id] = incident_story(store, CHECKOUT)
    sender = FakeSender()
    settle(DeliveryWorker(store, "w1", clock=Clock(T0 + 500), sender=sender))
    body = orjson.loads(sender.calls[0].body)
    assert body["subject"] == {"kind": "incident", "id": incident_id}
    assert body["event"] == "opened" and body["dedupe_key"] == sender.calls[0].headers["X-Onset-Dedupe-Key"]
    assert body["report"]["incident"]["id"] == incident_id and body["report"]["report_hash"].startswith("sha256:")
    assert sender.calls[0].headers["X-Onset-Signature"].startswith("sha256=")
    assert first.id in body["dedupe_key"]


def test_a_late_deploy_that_changes_the_cause_is_notified_as_cause_changed(store):
    hook("first")
    store_events(store, family_traffic(T0 - 300, T0 + 60, CHECKOUT) + burst(CHECKOUT, T0))
    engine = Engine(store, "engine-1")
    tick_through(engine, T0 - 60, T0 + 10)
    [incident] = incident_store.list_incidents()
    before = incident["cause"]
    # CI reports the deploy a minute late, with its real time: before the onset.
    with write_transaction():
        insert_signals([SignalRecord("sig_late_deploy", T0 + 15, T0 - 40, "deploy", "checkout", "production", "ci",
                                     None, None, {"version": "2.0.0"}, {})])
    tick_through(engine, T0 + 20, T0 + 20)
    after = incident_store.get_incident(incident["id"])["cause"]
    assert (before, after) == ("unknown", "deploy")
    changed = [r for r in rows() if r["event"] == "cause_changed"]
    assert [r["summary"] for r in changed] == [
        f"{incident['id']} cause changed from unknown to deploy: checkout POST /checkout E500"]
