"""GET /v1/blast?service=&step=&error_code=&window=: the blast radius of what fails right now."""

from __future__ import annotations

import time

import pytest

from tests.support.error_shape import assert_error_shape
from tests.support.triage_traffic import Fault, burst, forget_seen_versions, history, send


@pytest.fixture
def reader(auth) -> dict[str, str]:
    return auth("read")


@pytest.fixture
def failing_now(store) -> float:
    now = time.time()
    forget_seen_versions()
    send(store, history(now - 100, now - 30), now)
    send(store, burst(now - 20, Fault(processor="timeout"), n=8), now)
    return now


def test_blast_of_a_service_counts_requests_users_services_and_entry_points(client, reader, failing_now):
    body = client.get("/v1/blast?service=payment&window=5m", headers=reader).get_json()
    assert body["query"]["service"] == "payment" and body["query"]["window_seconds"] == 300
    assert body["families"] == ["family:payment/production/POST /charge/upstream_timeout"]
    assert body["status"] == "ok"
    assert body["requests"]["failed"] == 8 and body["requests"]["total"] > 8
    assert 0 < body["error_rate"] < 1
    assert body["users"] == 6
    assert {s["service"] for s in body["services"]} == {"gateway", "checkout", "payment"}
    assert body["entry_points"] == [{"service": "gateway", "step": "POST /api/checkout", "traces": 8}]
    assert len(body["sample_traces"]) == 5 and body["sample_traces"][0]["trace_id"] == "f000"


def test_blast_without_filters_covers_every_failing_family(client, reader, failing_now):
    body = client.get("/v1/blast", headers=reader).get_json()
    assert len(body["families"]) == 3 and body["requests"]["failed"] == 24


def test_blast_filters_by_step_and_error_code(client, reader, failing_now):
    body = client.get("/v1/blast?service=gateway&step=POST /api/checkout&error_code=E502&window=120",
                      headers=reader).get_json()
    assert body["families"] == ["family:gateway/production/POST /api/checkout/E502"]
    nothing = client.get("/v1/blast?service=gateway&error_code=E999", headers=reader).get_json()
    assert nothing["families"] == [] and nothing["status"] == "missing" and nothing["status_reason"]


@pytest.mark.parametrize("window", ["soon", "-5m", "0", "8d", "5x"])
def test_bad_window_is_a_validation_error(client, reader, store, window):
    assert_error_shape(client.get(f"/v1/blast?window={window}", headers=reader), 400, "window")
