"""Rate limits over HTTP: 429 + Retry-After in the JSON error shape, 503 on the alert routes
(Alertmanager drops an alert on any 4xx), 429 on OTLP (its exporters retry it), per key."""

from __future__ import annotations

import dataclasses

import pytest
from limits import RateLimitItemPerMinute
from prometheus_client.parser import text_string_to_metric_families

from server.app import create_app
from server.ratelimit import EXTENSION
from tests.support.error_shape import assert_error_shape

EVENT = [{"service": "checkout", "step": "POST /checkout"}]
ALERT = {"name": "HighErrorRate", "service": "checkout"}


@pytest.fixture
def limited(store):
    """A client whose keys may make 3 ingest and 3 read requests a minute (minutes, not
    seconds: a slow test machine must not slip into the next window)."""
    app = create_app(dataclasses.replace(store, ratelimit_ingest_rps=3, ratelimit_read_rps=3))
    limiter = app.extensions[EXTENSION]
    limiter.items = {scope: RateLimitItemPerMinute(3) for scope in limiter.items}
    return app.test_client()


def _spend(client, headers, times=3, path="/v1/events"):
    for _ in range(times):
        assert client.post(path, json=EVENT, headers=headers).status_code == 200


def test_over_the_limit_is_429_with_retry_after_and_the_error_shape(limited, auth):
    headers = auth("ingest")
    _spend(limited, headers)
    response = limited.post("/v1/events", json=EVENT, headers=headers)
    error = assert_error_shape(response, 429, "scope")
    assert error["code"] == "rate_limited"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


@pytest.mark.parametrize("path", ["/v1/alerts", "/v1/alerts/onset"])
def test_alert_routes_answer_503_with_retry_after_instead_of_429(limited, auth, path):
    headers = auth("ingest")
    _spend(limited, headers)
    response = limited.post(path, json=ALERT, headers=headers)
    assert response.status_code == 503
    assert int(response.headers["Retry-After"]) >= 1
    body = response.get_json()
    assert body["error"]["code"] == "overloaded" and "rate limit" in body["error"]["message"]


def test_otlp_answers_429_with_retry_after_which_its_exporters_retry(limited, auth):
    headers = auth("ingest")
    _spend(limited, headers)
    response = limited.post("/v1/traces", data=b"", headers={**headers, "Content-Type": "application/x-protobuf"})
    assert_error_shape(response, 429)
    assert int(response.headers["Retry-After"]) >= 1


def test_one_key_hammering_never_limits_another(limited, auth):
    hammer, quiet = auth("ingest"), auth("ingest")
    codes = [limited.post("/v1/events", json=EVENT, headers=hammer).status_code for _ in range(30)]
    assert codes.count(200) == 3 and codes.count(429) == 27
    _spend(limited, quiet)


def test_a_keys_ingest_and_read_budgets_are_separate(limited, auth):
    headers = auth("ingest", "read")
    _spend(limited, headers)
    assert limited.post("/v1/events", json=EVENT, headers=headers).status_code == 429
    for _ in range(3):
        assert limited.get("/v1/incidents", headers=headers).status_code == 200
    assert_error_shape(limited.get("/v1/incidents", headers=headers), 429)


def test_a_request_without_a_valid_key_is_refused_before_any_budget_is_spent(limited, auth):
    for _ in range(10):
        assert_error_shape(limited.post("/v1/events", json=EVENT), 401)
    _spend(limited, auth("ingest"))


def test_refusals_are_counted_per_scope_in_metrics(limited, auth):
    def refused(scope: str) -> float:
        text = limited.get("/metrics", headers=reader).get_data(as_text=True)
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                if sample.name == "onset_ratelimited_requests_total" and sample.labels == {"scope": scope}:
                    return sample.value
        return 0.0

    reader = auth("read")
    before = refused("ingest")
    headers = auth("ingest")
    _spend(limited, headers)
    for _ in range(4):
        limited.post("/v1/events", json=EVENT, headers=headers)
    assert refused("ingest") == before + 4


def test_limits_are_off_by_default(client, auth):
    headers = auth("ingest")
    for _ in range(50):
        assert client.post("/v1/events", json=EVENT, headers=headers).status_code == 200
