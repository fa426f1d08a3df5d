"""The sentinel in the engine's tick, on a real database (SQLite and PostgreSQL), fake clock.

Settings (tests/conftest.py): 60 s window, 10 s ticks and buckets; sentinel defaults: a
5-window baseline, 10 events per window for steady traffic, silent after 1 window.
"""

from __future__ import annotations

import dataclasses

from server.engine.runner import EngineRunner
from server.engine.tick import Engine
from server.store import channels as channel_store
from server.store import health_alerts, heartbeats, notifications
from server.store import incidents as incident_store
from server.triage.lookup import report_for
from tests.support.factories import T0
from tests.support.ticking import Clock, steady, store_events, tick_through

WINDOW = 60


def alerts(state: str | None = None) -> list[dict]:
    return list(reversed(health_alerts.list_health_alerts(state, T0 + 10_000)))


def keys_of(found: list[dict]) -> list[tuple[str, str]]:
    return [(a["key"], a["scope"]) for a in found]


def webhook() -> str:
    return channel_store.create_channel("webhook", "ops", "https://ops.example.test/hook", None, (), T0 - 5000).id


def test_a_service_that_stops_is_silent_within_two_windows_and_clears_when_it_returns(store):
    channel = webhook()
    store_events(store, steady(T0 - 400, T0 + 400, "checkout"))
    store_events(store, steady(T0 - 400, T0, "payment") + steady(T0 + 200, T0 + 400, "payment"))
    tick_through(Engine(store, "e1"), T0 - 60, T0 + 300)
    [alert] = alerts()
    assert (alert["key"], alert["scope"], alert["severity"]) == ("service_silent", "service:payment@production",
                                                               "critical")
    assert T0 < alert["raised_at"] <= T0 + 2 * WINDOW
    assert alert["stale_since"] == T0  # the end of payment's last bucket with events
    assert alert["details"]["baseline"] == 60
    assert T0 + 200 <= alert["cleared_at"] <= T0 + 210
    assert alert["clear_reason"].startswith("traffic returned")
    assert alert["staleness_seconds"] == alert["cleared_at"] - T0
    # One notification when raised, one when cleared; nothing for checkout, no collapse on return.
    queued = list(reversed(notifications.list_notifications(channel_id=channel)))
    assert [(n["subject_id"], n["event"]) for n in queued] == [(alert["id"], "raised"), (alert["id"], "cleared")]


def test_a_collapse_is_a_warning_and_clears_when_the_rate_recovers(store):
    engine = Engine(dataclasses.replace(store, traffic_min_events=10_000), "e1")
    store_events(store, steady(T0 - 400, T0, "payment") + steady(T0, T0 + 200, "payment", per_bucket=1)
                 + steady(T0 + 200, T0 + 400, "payment"))
    tick_through(engine, T0 - 60, T0 + 300)
    assert keys_of(alerts()) == [("rate_collapse", "service:payment@production")]
    [alert] = alerts()
    assert alert["severity"] == "warning" and alert["stale_since"] is None
    assert alert["details"]["baseline"] == 60 and alert["details"]["current"] < 12
    assert T0 + 200 <= alert["cleared_at"] <= T0 + 260
    assert alert["clear_reason"].startswith("rate recovered")


def test_a_quiet_service_is_never_called_silent(store):
    store_events(store, steady(T0 - 400, T0, "cron", per_bucket=1, every=30))
    tick_through(Engine(store, "e1"), T0 - 60, T0 + 300)
    assert alerts() == []


def test_a_late_heartbeat_raises_heartbeat_missed_and_the_next_beat_clears_it(store):
    heartbeats.beat("etl", 30, None, T0)
    engine = Engine(store, "e1")
    tick_through(engine, T0 + 10, T0 + 60)
    assert alerts() == []  # 60 s is not more than twice 30 s
    tick_through(engine, T0 + 70, T0 + 90)
    assert keys_of(alerts("active")) == [("heartbeat_missed", "heartbeat:etl")]
    heartbeats.beat("etl", 30, None, T0 + 95)
    tick_through(engine, T0 + 100, T0 + 100)
    [alert] = alerts()
    assert alert["raised_at"] == T0 + 70 and alert["cleared_at"] == T0 + 100
    assert alert["stale_since"] == T0 and alert["staleness_seconds"] == 100


def test_a_stage_that_stops_while_its_upstream_beats_stalls_the_pipeline(store):
    engine = Engine(store, "e1")
    heartbeats.beat("load", 30, "extract", T0)
    for t in range(0, 200, 20):
        heartbeats.beat("extract", 30, None, T0 + t)
        tick_through(engine, T0 + t + 10, T0 + t + 10)
    assert sorted(keys_of(alerts("active"))) == [("heartbeat_missed", "heartbeat:load"),
                                                 ("pipeline_stalled", "pipeline:extract>load")]
    stalled = next(a for a in alerts() if a["key"] == "pipeline_stalled")
    assert "load stopped" in stalled["reason"] and "extract still beats" in stalled["reason"]


def test_a_tail_latency_spike_opens_a_latency_incident_with_what_was_measured(store):
    channel = webhook()
    store_events(store, steady(T0 - 400, T0 + 600, "search", "GET /search", per_bucket=10, duration_ms=40))
    store_events(store, steady(T0, T0 + 100, "search", "GET /search", per_bucket=10, duration_ms=900))
    opened = tick_through(Engine(store, "e1"), T0 - 60, T0 + 60)
    assert len(opened) == 1
    incident = incident_store.get_incident(opened[0])
    assert incident["kind"] == "latency" and incident["error_code"] == "latency_p95"
    assert incident["opened_at"] == T0 + 20  # the windows ending at T0, T0+10 and T0+20 all spiked
    report = report_for(opened[0])
    measured = report["measurement"]
    assert measured["anomaly"] == "latency" and measured["percentile"] == 95
    assert measured["current_ms"] > 3 * measured["baseline_ms"] and measured["requests"] >= 20
    assert measured["persisted_ticks"] == 3 and measured["qualifying_windows"] == 5
    assert "p95 latency" in report["summary"] and "GET /search" in report["summary"]
    # Fast again: recovering, then resolved after the quiet period, on the same lifecycle.
    tick_through(Engine(store, "e1"), T0 + 70, T0 + 600)
    assert [t["to"] for t in incident_store.get_incident(opened[0])["transitions"]] == [
        "active", "recovering", "resolved"]
    assert [n["event"] for n in reversed(notifications.list_notifications(channel_id=channel))] == [
        "opened", "recovering", "resolved"]


def test_a_spike_that_does_not_persist_opens_nothing(store):
    store_events(store, steady(T0 - 400, T0 + 200, "search", "GET /search", duration_ms=40))
    store_events(store, steady(T0, T0 + 10, "search", "GET /search", per_bucket=30, duration_ms=900))
    # One slow bucket stays in the window for 6 ticks, but the p95 of the windows falls back.
    assert tick_through(Engine(dataclasses.replace(store, anomaly_persist_ticks=8), "e1"), T0 - 60, T0 + 200) == []


def test_a_traffic_surge_opens_a_traffic_incident(store):
    store_events(store, steady(T0 - 400, T0, "gateway", per_bucket=20) + steady(T0, T0 + 200, "gateway",
                                                                               per_bucket=100))
    opened = tick_through(Engine(store, "e1"), T0 - 60, T0 + 100)
    [incident] = [incident_store.get_incident(i) for i in opened]
    assert (incident["kind"], incident["step"], incident["error_code"]) == ("traffic", "*", "traffic_surge")
    measured = report_for(incident["id"])["measurement"]
    assert measured["baseline"] == 120 and measured["current"] >= 360


def test_the_error_engine_leaves_anomaly_incidents_alone(store):
    store_events(store, steady(T0 - 400, T0, "gateway", per_bucket=20) + steady(T0, T0 + 400, "gateway",
                                                                               per_bucket=100))
    [opened] = tick_through(Engine(store, "e1"), T0 - 60, T0 + 300)
    # Still surging: an error engine judging it by errors would have moved it to recovering.
    assert incident_store.get_incident(opened)["state"] == "active"
    assert incident_store.open_incidents() == []  # the error engine's own: errors only


def test_the_next_engine_after_a_gap_raises_and_clears_sentinel_stale(store):
    channel = webhook()
    clock = Clock(T0)
    first = EngineRunner(store, "engine-a", clock=clock)
    first.step()
    clock.now = T0 + 10
    first.step()
    clock.now = T0 + 95  # the leader died; its lease ran out (30 s) long ago
    second = EngineRunner(store, "engine-b", clock=clock)
    second.step()
    [stale] = alerts()
    assert (stale["key"], stale["scope"], stale["severity"]) == ("sentinel_stale", "engine", "critical")
    assert stale["raised_at"] == T0 + 10 + 30 and stale["cleared_at"] == T0 + 95
    assert stale["details"]["gap_seconds"] == 85 and stale["details"]["resumed_by"] == "engine-b"
    assert stale["staleness_seconds"] == 85
    events = [n["event"] for n in reversed(notifications.list_notifications(channel_id=channel))]
    assert events == ["raised", "cleared"]
    clock.now = T0 + 105
    second.step()
    assert len(alerts()) == 1


def test_a_short_pause_raises_nothing(store):
    clock = Clock(T0)
    runner = EngineRunner(store, "engine-a", clock=clock)
    runner.step()
    clock.now = T0 + 30  # three intervals: not more
    runner.step()
    assert alerts() == []


def test_service_health_says_critical_for_a_silent_service_and_unknown_when_the_engine_is_stale(store):
    store_events(store, steady(T0 - 400, T0 + 200, "checkout") + steady(T0 - 400, T0, "payment"))
    tick_through(Engine(store, "e1"), T0 - 60, T0 + 120)
    health = {s["service"]: s for s in health_alerts.service_health(T0 + 125, store.tick_seconds)}
    assert health["payment"]["health"] == "critical" and health["checkout"]["health"] == "ok"
    assert health["payment"]["alerts"][0]["key"] == "service_silent"
    stale = health_alerts.service_health(T0 + 500, store.tick_seconds)
    assert {s["health"] for s in stale} == {"unknown"}
    assert "no engine tick for" in stale[0]["reason"]


def test_a_step_that_is_slow_because_it_fails_stays_one_incident(store):
    # Timeouts: the step both slows down and fails. The error incident covers it; the
    # latency anomaly is a symptom of the same failure, not a second incident.
    store_events(store, steady(T0 - 400, T0 + 600, "search", "GET /search", per_bucket=10, duration_ms=40))
    store_events(store, steady(T0, T0 + 100, "search", "GET /search", per_bucket=10, duration_ms=900,
                               errors=10, error_code="TIMEOUT"))
    opened = tick_through(Engine(store, "e1"), T0 - 60, T0 + 60)
    kinds = [incident_store.get_incident(i)["kind"] for i in opened]
    assert kinds == ["errors"]
