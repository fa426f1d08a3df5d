"""engine/tick.py against a real, migrated database (SQLite and PostgreSQL) and a fake clock.

Settings (tests/conftest.py): 60 s window, 10 s ticks and buckets, min_count 5, lift 3,
300 s quiet period, 30 s lease.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from server.engine.model import Family
from server.engine.tick import Engine
from server.store import db, lease, migrate
from server.store import incidents as incident_store
from server.store.db import open_database, write_transaction
from server.store.events import EventRecord, insert_events
from tests.support.factories import T0, event, family

CHECKOUT = family("checkout", "POST /checkout", "E500")
ID_FORMAT = re.compile(r"^inc_(\d{8}_\d{4})_[0-9a-f]{6}$")


# -- helpers --------------------------------------------------------------------------------

def insert(settings, records: list[EventRecord]) -> None:
    with write_transaction():
        insert_events(records, settings.bucket_seconds)


def steady(fam: Family, start: float, end: float, *, ok: int = 10, errors: int = 1) -> list[EventRecord]:
    """Every 10 s bucket in [start, end): `ok` healthy requests and `errors` failures of `fam`."""
    records = []
    t = start
    while t < end:
        records += [event(t + 0.5, fam.service, fam.step, env=fam.env) for _ in range(ok)]
        records += [event(t + 0.5, fam.service, fam.step, env=fam.env, error_code=fam.error_code)
                    for _ in range(errors)]
        t += 10
    return records


def burst(fam: Family, at: float, n: int = 30, traces: list[str] | None = None) -> list[EventRecord]:
    return [event(at + 2 + i * 0.1, fam.service, fam.step, env=fam.env, error_code=fam.error_code,
                  trace_id=traces[i % len(traces)] if traces else None) for i in range(n)]


def run(engine: Engine, start: float, end: float, every: float = 10) -> list[str]:
    """Tick from `start` up to and including `end`, taking the lease first as the runner does."""
    opened = []
    t = start
    while t <= end:
        assert lease.try_acquire(engine.holder, t, engine.settings.lease_seconds)
        result = engine.tick(t)
        assert result.committed
        opened += result.opened
        t += every
    return opened


def all_incidents() -> list[dict]:
    return incident_store.list_incidents()


def states(incident_id: str) -> list[str]:
    return [t["to"] for t in incident_store.get_incident(incident_id)["transitions"]]


def fresh_database(tmp_path: Path) -> None:
    """Rebind the store to an empty, migrated database of the same backend."""
    if db.is_postgres():
        with write_transaction():
            db.execute("DROP SCHEMA public CASCADE")
            db.execute("CREATE SCHEMA public")
    else:
        open_database(f"sqlite:///{tmp_path / 'fresh.db'}", synchronous="NORMAL")
    migrate.migrate()


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "engine-a")


@pytest.fixture
def history(store):
    """Ten minutes of steady checkout traffic (1 error in 11 requests per bucket) before T0."""
    insert(store, steady(CHECKOUT, T0 - 600, T0 + 600))
    return store


# -- detection ------------------------------------------------------------------------------

def test_steady_traffic_then_a_burst_opens_exactly_one_incident(history, engine):
    # Steady errors reach min_count in every window but never three times their baseline.
    assert run(engine, T0 - 300, T0 - 10) == []
    assert all_incidents() == []

    insert(history, burst(CHECKOUT, T0))
    opened = run(engine, T0, T0 + 50)
    assert len(opened) == 1
    incidents = all_incidents()
    assert [i["id"] for i in incidents] == opened
    incident = incident_store.get_incident(opened[0])
    assert incident["state"] == "active"
    assert [(f["service"], f["step"], f["error_code"]) for f in incident["families"]] == [
        ("checkout", "POST /checkout", "E500")]
    # The baseline is the median of the prior windows: one error per 10 s bucket, 6 a window.
    assert incident["families"][0]["baseline"] == 6
    # The onset is in the bucket where the errors rose, not at the tick that saw them.
    assert T0 <= incident["onset"] < T0 + 10


def test_incident_id_has_the_documented_format_from_the_onset_minute(history, engine):
    insert(history, burst(CHECKOUT, T0))
    [incident_id] = run(engine, T0 - 20, T0 + 20)
    onset = incident_store.get_incident(incident_id)["onset"]
    match = ID_FORMAT.match(incident_id)
    assert match is not None
    assert match.group(1) == datetime.fromtimestamp(onset, UTC).strftime("%Y%m%d_%H%M")


def test_same_events_replayed_into_a_fresh_database_give_the_same_incident_id(history, engine, tmp_path):
    records = steady(CHECKOUT, T0 - 600, T0 + 600) + burst(CHECKOUT, T0)
    insert(history, burst(CHECKOUT, T0))
    [first] = run(engine, T0 - 60, T0 + 30)

    fresh_database(tmp_path)
    assert all_incidents() == []
    insert(history, records)
    # Another engine, ticking at other moments of the same buckets (a rebuild after restart).
    replayed = run(Engine(history, "engine-b"), T0 - 57, T0 + 33)
    assert replayed == [first]


def test_unrelated_spikes_at_the_same_time_open_separate_incidents(history, engine):
    search = family("search", "GET /search", "E503")
    insert(history, burst(CHECKOUT, T0, traces=["c1", "c2"]) + burst(search, T0, traces=["s1", "s2"]))
    opened = run(engine, T0, T0 + 10)
    assert len(opened) == 2
    primaries = {(i["service"], i["step"]) for i in all_incidents()}
    assert primaries == {("checkout", "POST /checkout"), ("search", "GET /search")}


def test_families_sharing_failing_traces_make_one_incident(store, engine):
    gateway = family("gateway", "POST /api/checkout", "E502")
    checkout = family("checkout", "POST /checkout", "E502")
    payment = family("payment", "POST /charge", "upstream_timeout")
    for fam in (gateway, checkout, payment):
        insert(store, steady(fam, T0 - 600, T0 + 60, errors=0))
    records = []
    for i in range(12):
        trace, ts = f"trace{i:02d}", T0 + 2 + i * 0.5
        records += [
            event(ts, "gateway", gateway.step, error_code="E502", trace_id=trace, span_id=f"{trace}g"),
            event(ts + 0.01, "checkout", checkout.step, error_code="E502", trace_id=trace,
                  span_id=f"{trace}c", parent_span_id=f"{trace}g"),
            event(ts + 0.02, "payment", payment.step, error_code="upstream_timeout", trace_id=trace,
                  span_id=f"{trace}p", parent_span_id=f"{trace}c"),
            event(ts + 0.03, "payment", "card-processor POST /authorize", kind="dependency",
                  peer="card-processor", error_code="timeout", trace_id=trace, span_id=f"{trace}d",
                  parent_span_id=f"{trace}p"),
        ]
    insert(store, records)

    opened = run(engine, T0, T0 + 20)
    assert len(opened) == 1
    incident = incident_store.get_incident(opened[0])
    assert {(f["service"], f["error_code"]) for f in incident["families"]} == {
        ("gateway", "E502"), ("checkout", "E502"), ("payment", "upstream_timeout")}
    # The outgoing call is not a family of its own: families are requests.
    assert len(incident["families"]) == 3
    # The stored analysis traced the failure down to payment's call to card-processor.
    origin = incident["analysis"]["origin"]
    assert (origin["service"], origin["via"]) == ("payment", "card-processor")
    assert incident["cause"] == "dependency"


def test_family_spiking_later_in_shared_traces_joins_the_open_incident(store, engine):
    checkout = family("checkout", "POST /checkout", "E502")
    payment = family("payment", "POST /charge", "E500")
    insert(store, steady(checkout, T0 - 600, T0 + 120, errors=0) + steady(payment, T0 - 600, T0 + 120, errors=0))
    traces = [f"tr{i}" for i in range(10)]
    insert(store, burst(checkout, T0, 10, traces))
    [incident_id] = run(engine, T0, T0 + 10)
    # payment starts failing in the same traces a little later: it joins, it does not open.
    insert(store, burst(payment, T0 + 20, 10, traces))
    assert run(engine, T0 + 20, T0 + 40) == []
    families = {f["service"] for f in incident_store.get_incident(incident_id)["families"]}
    assert families == {"checkout", "payment"}


def test_incident_takes_the_name_of_the_origin_family_that_joins_after_opening(store, engine):
    gateway = family("gateway", "POST /api/orders", "E502")
    payment = family("payment", "POST /charge", "E500")
    insert(store, steady(gateway, T0 - 600, T0 + 120, errors=0) + steady(payment, T0 - 600, T0 + 120, errors=0))
    traces = [f"tr{i}" for i in range(10)]
    # The edge fails first (in these traces payment's spans are children of the gateway's)...
    insert(store, [event(T0 + 2 + i * 0.1, "gateway", gateway.step, error_code="E502", trace_id=traces[i % 10],
                         span_id=f"g{i}") for i in range(10)])
    [incident_id] = run(engine, T0, T0 + 10)
    assert incident_store.get_incident(incident_id)["service"] == "gateway"
    # ...then payment's failures, deeper in the same traces, cross the threshold and join.
    insert(store, [event(T0 + 22 + i * 0.1, "payment", payment.step, error_code="E500", trace_id=traces[i % 10],
                         span_id=f"p{i}", parent_span_id=f"g{i % 10}") for i in range(10)])
    run(engine, T0 + 20, T0 + 40)
    incident = incident_store.get_incident(incident_id)
    assert incident["analysis"]["origin"]["service"] == "payment"
    assert (incident["service"], incident["step"], incident["error_code"]) == ("payment", "POST /charge", "E500")
    assert incident["id"] == incident_id  # the id stays: it names the incident, not its family


# -- lifecycle ------------------------------------------------------------------------------

def test_incident_goes_active_recovering_resolved_after_the_quiet_period(history, engine):
    insert(history, burst(CHECKOUT, T0))
    [incident_id] = run(engine, T0, T0 + 50)
    # The burst bucket leaves the 60 s window at T0 + 60: back to the steady baseline.
    run(engine, T0 + 60, T0 + 60)
    incident = incident_store.get_incident(incident_id)
    assert incident["state"] == "recovering"
    assert incident["recovering_since"] == T0 + 60

    run(engine, T0 + 70, T0 + 350)  # 290 s quiet: not yet
    assert incident_store.get_incident(incident_id)["state"] == "recovering"
    run(engine, T0 + 360, T0 + 360)  # 300 s quiet
    incident = incident_store.get_incident(incident_id)
    assert incident["state"] == "resolved"
    assert incident["resolved_at"] == T0 + 360
    assert states(incident_id) == ["active", "recovering", "resolved"]


def test_respike_while_recovering_reactivates_the_same_incident(history, engine):
    insert(history, burst(CHECKOUT, T0))
    [incident_id] = run(engine, T0, T0 + 60)
    assert incident_store.get_incident(incident_id)["state"] == "recovering"

    insert(history, burst(CHECKOUT, T0 + 100))
    assert run(engine, T0 + 70, T0 + 110) == []
    incident = incident_store.get_incident(incident_id)
    assert incident["state"] == "active"
    assert incident["recovering_since"] is None
    assert states(incident_id) == ["active", "recovering", "active"]
    assert len(all_incidents()) == 1


def test_sustained_outage_does_not_become_its_own_baseline(history, engine):
    # 30 errors every bucket for five minutes: the open incident is judged against the
    # baseline frozen when it opened, so it stays active however long the outage lasts.
    outage = []
    for k in range(30):
        outage += burst(CHECKOUT, T0 + 10 * k, 30)
    insert(history, outage)
    [incident_id] = run(engine, T0, T0 + 290)
    assert incident_store.get_incident(incident_id)["state"] == "active"
    assert states(incident_id) == ["active"]


def test_spike_after_resolution_is_a_new_incident_with_a_new_id(history, engine):
    insert(history, burst(CHECKOUT, T0))
    [first] = run(engine, T0, T0 + 360)
    assert incident_store.get_incident(first)["state"] == "resolved"

    insert(history, burst(CHECKOUT, T0 + 420))
    second = run(engine, T0 + 370, T0 + 440)
    assert len(second) == 1 and second[0] != first
    assert ID_FORMAT.match(second[0])
    assert incident_store.get_incident(first)["state"] == "resolved"
    assert incident_store.get_incident(second[0])["state"] == "active"
    assert T0 + 420 <= incident_store.get_incident(second[0])["onset"] < T0 + 430


# -- the lease ------------------------------------------------------------------------------

def test_engine_without_the_lease_commits_nothing(history):
    holder, intruder = Engine(history, "engine-a"), Engine(history, "engine-b")
    assert lease.try_acquire(holder.holder, T0, history.lease_seconds)
    insert(history, burst(CHECKOUT, T0))

    assert not lease.try_acquire(intruder.holder, T0 + 5, history.lease_seconds)
    result = intruder.tick(T0 + 5)
    assert not result.committed
    assert result.opened == () and result.transitions == ()
    assert all_incidents() == []
    state = lease.state()
    assert state.holder == "engine-a" and state.ticks == 0


def test_two_engines_ticking_against_one_database_open_one_incident(history):
    engines = [Engine(history, "engine-a"), Engine(history, "engine-b")]
    insert(history, burst(CHECKOUT, T0))
    committed_by = set()
    t = T0 - 30
    while t <= T0 + 40:
        for engine in engines:
            # Both try, as two workers' runners do; only the lease holder's tick commits.
            lease.try_acquire(engine.holder, t, history.lease_seconds)
            if engine.tick(t).committed:
                committed_by.add(engine.holder)
        t += 10
    assert committed_by == {"engine-a"}
    assert len(all_incidents()) == 1


def test_engine_that_lost_the_lease_cannot_commit_a_stale_tick(history):
    first, second = Engine(history, "engine-a"), Engine(history, "engine-b")
    assert lease.try_acquire(first.holder, T0 - 60, history.lease_seconds)
    assert first.tick(T0 - 60).committed
    insert(history, burst(CHECKOUT, T0))
    # engine-a stalls past its lease; engine-b takes over and opens the incident.
    assert lease.try_acquire(second.holder, T0 + 5, history.lease_seconds)
    assert len(second.tick(T0 + 5).opened) == 1
    # engine-a wakes up and ticks without re-checking: its writes are refused.
    stale = first.tick(T0 + 6)
    assert not stale.committed
    assert len(all_incidents()) == 1
    assert lease.state().holder == "engine-b"


def test_two_engines_computing_the_same_tick_commit_it_once(history, monkeypatch):
    holder, follower = Engine(history, "engine-a"), Engine(history, "engine-b")
    assert lease.try_acquire(holder.holder, T0, history.lease_seconds)
    insert(history, burst(CHECKOUT, T0))
    real_apply = incident_store.apply_tick
    holder_results = []

    def interleaved(writes, who, *args):
        # engine-b has computed its tick (the same new incident); engine-a's whole tick lands
        # before engine-b's writes do.
        if who == "engine-b" and not holder_results:
            holder_results.append(holder.tick(T0 + 5))
        return real_apply(writes, who, *args)

    monkeypatch.setattr(incident_store, "apply_tick", interleaved)
    follower_result = follower.tick(T0 + 5)
    assert len(holder_results[0].opened) == 1
    assert not follower_result.committed
    assert [i["id"] for i in all_incidents()] == list(holder_results[0].opened)
