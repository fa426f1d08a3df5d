"""Retention (server/janitor.py) on a real database, SQLite and PostgreSQL, with a fake clock:
what is past retention goes in bounded batches, what is young or still open stays."""

from __future__ import annotations

import dataclasses

import pytest

from server import janitor
from server.engine.runner import EngineRunner
from server.engine.tick import Engine
from server.janitor import Janitor, prune
from server.store import db, retention
from server.store.signals import SignalRecord, insert_signals
from tests.support.factories import T0, event, family
from tests.support.ticking import Clock, burst, family_traffic, store_events, tick_through

DAY = 86400.0
CHECKOUT = family("checkout", "POST /checkout", "E500")
PAYMENT = family("payment", "POST /charge", "PMT_502")
SEARCH = family("search", "GET /search", "E503")


def count(table: str, where: str = "1 = 1", params=()) -> int:
    return db.fetchone(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)[0]


def signal(ts: float, received_at: float | None = None, n: int = 0) -> SignalRecord:
    return SignalRecord(f"sig_{ts:.0f}_{n}", ts if received_at is None else received_at, ts, "deploy", "checkout",
                        "production", "ci", "deployed", None, {}, {})


@pytest.fixture
def kept(store):
    """Retention of 1 day for everything, checked 10 days after T0."""
    return dataclasses.replace(store, event_retention=DAY, signal_retention=DAY, incident_retention=DAY)


def test_events_and_their_counters_past_retention_are_pruned_and_young_ones_kept(kept):
    now = T0 + 10 * DAY
    store_events(kept, [event(T0 + i, duration_ms=5) for i in range(300)])
    store_events(kept, [event(now - 100 + i, duration_ms=5) for i in range(20)])
    report = prune(kept, now)
    assert report.deleted["events"] == 300 and not report.unfinished
    assert count("events") == 20 and count("events", "ts < ?", (now - DAY,)) == 0
    for table in retention.bucket_tables():
        assert count(table, "bucket < ?", (now - DAY,)) == 0, table
        assert count(table) > 0, table


def test_an_old_event_that_arrived_recently_is_kept_until_its_arrival_is_old_too(kept):
    now = T0 + 10 * DAY
    store_events(kept, [event(T0, received_at=now - 60)])
    assert prune(kept, now).deleted["events"] == 0
    assert count("events") == 1
    assert prune(kept, now + DAY).deleted["events"] == 1


def test_pruning_goes_in_bounded_batches(kept, monkeypatch):
    monkeypatch.setattr(janitor, "BATCH", 40)
    now = T0 + 10 * DAY
    store_events(kept, [event(T0 + i * 0.5, service=f"svc{i % 7}") for i in range(500)])
    insert = [signal(T0 + i, n=i) for i in range(130)]
    with db.write_transaction():
        insert_signals(insert)
    batches: list[tuple[str, int]] = []
    real_events, real_signals, real_buckets = retention.prune_events, retention.prune_signals, retention.prune_buckets

    def events_batch(*args):
        batch, following = real_events(*args)
        batches.append(("events", batch.deleted))
        return batch, following

    def signals_batch(*args):
        batch = real_signals(*args)
        batches.append(("signals", batch.deleted))
        return batch

    def buckets_batch(table, *args):
        batch = real_buckets(table, *args)
        batches.append((table, batch.deleted))
        return batch

    monkeypatch.setattr(retention, "prune_events", events_batch)
    monkeypatch.setattr(retention, "prune_signals", signals_batch)
    monkeypatch.setattr(retention, "prune_buckets", buckets_batch)
    report = prune(kept, now)
    assert report.deleted["events"] == 500 and report.deleted["signals"] == 130
    assert all(n <= 40 for _, n in batches), batches
    assert sum(1 for table, _ in batches if table == "events") >= 500 // 40
    assert sum(1 for table, _ in batches if table == "signals") >= 130 // 40
    assert count("events") == 0 and count("signals") == 0 and count("event_counts") == 0


def test_a_run_that_spends_its_time_budget_stops_and_the_next_goes_on(kept):
    now = T0 + 10 * DAY
    store_events(kept, [event(T0 + i) for i in range(50)])
    report = prune(kept, now, budget=0)
    assert report.deleted == {} and "events" in report.unfinished
    assert count("events") == 50
    assert prune(kept, now).deleted["events"] == 50


def test_signals_past_retention_are_pruned(kept):
    now = T0 + 10 * DAY
    with db.write_transaction():
        insert_signals([signal(T0, n=1), signal(T0 + 5, n=2), signal(now - 60, n=3)])
    assert prune(kept, now).deleted["signals"] == 2
    assert [r[0] for r in db.fetchall("SELECT signal_id FROM signals")] == [f"sig_{now - 60:.0f}_3"]


def test_resolved_incidents_past_retention_go_with_their_evidence_and_open_ones_never(kept):
    # checkout bursts and resolves; payment bursts later and is recovering; search is active.
    traffic = family_traffic(T0 - 300, T0 + 500, CHECKOUT, PAYMENT, SEARCH)
    store_events(kept, traffic + burst(CHECKOUT, T0) + burst(PAYMENT, T0 + 400) + burst(SEARCH, T0 + 460))
    engine = Engine(kept, "janitor-test")
    opened = tick_through(engine, T0 - 30, T0 + 480)
    states = dict(db.fetchall("SELECT service, state FROM incidents"))
    assert states == {"checkout": "resolved", "payment": "recovering", "search": "active"}, states
    resolved_id = db.fetchone("SELECT id FROM incidents WHERE service = 'checkout'")[0]
    assert count("incident_evidence", "incident_id = ?", (resolved_id,)) > 0

    # Within its retention the resolved incident stays; after it, only it goes.
    assert prune(kept, T0 + 600).deleted.get("incidents", 0) == 0
    report = prune(kept, T0 + 10 * DAY)
    assert report.deleted["incidents"] == 1
    assert sorted(db.fetchall("SELECT service, state FROM incidents")) == [("payment", "recovering"),
                                                                          ("search", "active")]
    for table in ("incident_families", "incident_transitions", "incident_evidence"):
        assert count(table, "incident_id = ?", (resolved_id,)) == 0, table
    assert len(opened) == 3


def test_a_retention_of_zero_keeps_everything(store):
    forever = dataclasses.replace(store, event_retention=0, signal_retention=0, incident_retention=0)
    store_events(forever, [event(T0)])
    with db.write_transaction():
        insert_signals([signal(T0)])
    assert prune(forever, T0 + 1000 * DAY).deleted == {}
    assert count("events") == 1 and count("signals") == 1


def test_the_janitor_runs_at_its_own_cadence_not_every_tick(kept):
    store_events(kept, [event(T0)])
    clock = Clock(T0 + 10 * DAY)
    sweeper = Janitor(dataclasses.replace(kept, retention_interval_seconds=300), clock)
    assert sweeper.maybe_run() is None  # the first run waits one interval after start
    clock.now += 299
    assert sweeper.maybe_run() is None
    assert count("events") == 1
    clock.now += 1
    assert sweeper.maybe_run().deleted["events"] == 1
    clock.now += 10
    assert sweeper.maybe_run() is None


def test_the_engine_leader_runs_the_janitor(kept):
    store_events(kept, [event(T0)])
    clock = Clock(T0 + 10 * DAY)
    runner = EngineRunner(dataclasses.replace(kept, retention_interval_seconds=60), "leader", clock=clock)
    runner.delivery = None
    runner.step()
    assert count("events") == 1
    for _ in range(6):
        clock.now += 10
        runner.step()
    assert count("events") == 0
