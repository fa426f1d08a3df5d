"""GET /metrics: Prometheus text format read with the real parser, values that move with
ingest, the engine and the database, and a read key to see them."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from server import metrics
from server.engine.runner import EngineRunner
from server.engine.tick import Engine
from tests.support.error_shape import assert_error_shape
from tests.support.factories import T0, family
from tests.support.ticking import Clock, burst, family_traffic, store_events, tick_through

CHECKOUT = family("checkout", "POST /checkout", "E500")


def scrape(client, headers) -> dict[tuple[str, tuple], float]:
    response = client.get("/metrics", headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.content_type.startswith("text/plain; version=0.0.4")
    found = {}
    for metric_family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in metric_family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def reader(auth):
    return auth("read")


def test_metrics_need_a_read_key(client, auth):
    assert_error_shape(client.get("/metrics"), 401)
    assert_error_shape(client.get("/metrics", headers=auth("ingest")), 403, "scope")


def test_ingest_counters_and_latency_move_after_ingest(client, auth, reader):
    before = scrape(client, reader)
    headers = auth("ingest")
    good = [{"service": "checkout", "step": "POST /checkout"}] * 4
    assert client.post("/v1/events", json=[*good, {"service": 1}], headers=headers).status_code == 200
    assert client.post("/v1/events", json=[{"step": "x"}, {"step": "y"}], headers=headers).status_code == 400
    assert client.post("/v1/signals", json={"type": "deploy", "service": "checkout"}, headers=headers).status_code == 200
    assert client.post("/v1/alerts", json={"name": "HighErrorRate"}, headers=headers).status_code == 200
    assert client.post("/v1/events", data=b"{", headers={**headers, "Content-Type": "application/json"}).status_code == 400
    assert client.post("/v1/events", json=good).status_code == 401
    after = scrape(client, reader)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("onset_ingest_accepted_total", kind="events") == 4
    assert moved("onset_ingest_rejected_total", kind="events", reason="invalid") == 3  # 1 + the whole bad batch of 2
    assert moved("onset_ingest_accepted_total", kind="signals") == 1
    assert moved("onset_ingest_accepted_total", kind="alerts") == 1
    assert moved("onset_ingest_requests_total", kind="events", outcome="ok") == 1
    assert moved("onset_ingest_requests_total", kind="events", outcome="validation_failed") == 2
    assert moved("onset_ingest_requests_total", kind="events", outcome="unauthorized") == 1
    assert moved("onset_ingest_duration_seconds_count", kind="events") == 4
    assert moved("onset_ingest_duration_seconds_sum", kind="events") > 0
    assert moved("onset_ingest_duration_seconds_bucket", kind="events", le="+Inf") == 4


def test_incidents_by_state_and_the_engine_tick_come_from_the_database(client, store, reader):
    samples = scrape(client, reader)
    assert value(samples, "onset_database_up") == 1
    assert value(samples, "onset_incidents", state="active") == 0
    assert ("onset_engine_last_tick_timestamp_seconds", ()) not in samples

    store_events(store, family_traffic(T0 - 300, T0 + 60, CHECKOUT) + burst(CHECKOUT, T0))
    engine = Engine(store, "test-engine")
    assert len(tick_through(engine, T0 - 30, T0 + 10)) == 1
    samples = scrape(client, reader)
    assert value(samples, "onset_incidents", state="active") == 1
    assert value(samples, "onset_incidents", state="resolved") == 0
    assert value(samples, "onset_engine_last_tick_timestamp_seconds") == T0 + 10
    assert value(samples, "onset_engine_last_tick_duration_seconds") >= 0


def test_engine_ticks_are_timed_by_the_runner(client, store, reader):
    before = scrape(client, reader)
    runner = EngineRunner(store, "runner-under-test", clock=Clock(T0))
    runner.delivery = None
    runner.step()
    runner.clock.now += 10
    runner.step()
    after = scrape(client, reader)
    ticks = value(after, "onset_engine_ticks_total", committed="true") - value(before, "onset_engine_ticks_total",
                                                                                 committed="true")
    assert ticks == 2
    assert value(after, "onset_engine_tick_duration_seconds_count") - value(
        before, "onset_engine_tick_duration_seconds_count") == 2


def test_the_counter_api_for_notifications_and_retention_shows_in_the_scrape(client, reader):
    before = scrape(client, reader)
    metrics.notification_sent("slack")
    metrics.notification_failed("webhook", "server_error", final=False)
    metrics.notification_failed("webhook", "rejected", final=True)
    metrics.pruned("events", 7)
    after = scrape(client, reader)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("onset_notifications_sent_total", channel="slack") == 1
    assert moved("onset_notifications_failed_total", channel="webhook", reason="server_error", final="false") == 1
    assert moved("onset_notifications_failed_total", channel="webhook", reason="rejected", final="true") == 1
    assert moved("onset_retention_pruned_rows_total", table="events") == 7

