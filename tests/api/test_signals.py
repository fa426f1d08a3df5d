"""POST and GET /v1/signals, POST /v1/deploys, and deploys recognised from versions in traffic."""

from __future__ import annotations

import time
import uuid

import pytest

from server.timefmt import iso, parse_time
from tests.support.error_shape import assert_error_shape


@pytest.fixture
def ingest(auth):
    return auth("ingest")


@pytest.fixture
def reader(auth):
    return auth("read")


def post(client, headers, payload, path="/v1/signals"):
    response = client.post(path, json=payload, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def get(client, headers, **params) -> list[dict]:
    response = client.get("/v1/signals", query_string=params, headers=headers)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()["signals"]


def unique(name: str) -> str:
    # The server remembers versions it has seen per process: a fresh name keeps tests apart.
    return f"{name}-{uuid.uuid4().hex[:8]}"


# -- posting ------------------------------------------------------------------------------------

def test_post_one_signal_and_read_it_back(client, ingest, reader):
    ts = time.time() - 60
    body = post(client, ingest, {"type": "dependency", "service": "payment", "source": "statuspage",
                                 "reason": "card-processor degraded", "message": "elevated 5xx", "ts": ts,
                                 "attributes": {"dependency": "card-processor"}})
    assert body["accepted"] == 1 and body["rejected"] == []
    [signal_id] = body["signal_ids"]
    [signal] = get(client, reader)
    assert signal["signal_id"] == signal_id
    assert (signal["type"], signal["service"], signal["env"], signal["source"]) == (
        "dependency", "payment", "production", "statuspage")
    assert (signal["reason"], signal["message"]) == ("card-processor degraded", "elevated 5xx")
    assert signal["attributes"] == {"dependency": "card-processor"}
    assert signal["ts"] == iso(ts)


@pytest.mark.parametrize("wrap", [lambda items: {"signals": items}, lambda items: items], ids=["object", "array"])
def test_post_a_batch_of_signals(client, ingest, reader, wrap):
    items = [{"type": "config", "service": "checkout", "reason": "flag on"},
             {"type": "runtime", "service": "payment", "reason": "OOMKilled"}]
    body = post(client, ingest, wrap(items))
    assert body["accepted"] == 2 and len(set(body["signal_ids"])) == 2
    assert {s["reason"] for s in get(client, reader)} == {"flag on", "OOMKilled"}


def test_signal_id_and_received_at_belong_to_the_server(client, ingest, reader):
    before = time.time()
    body = post(client, ingest, {"type": "config", "service": "checkout", "signal_id": "sig_mine",
                                 "received_at": "2001-01-01T00:00:00Z"})
    [signal] = get(client, reader)
    assert signal["signal_id"] == body["signal_ids"][0] != "sig_mine"
    assert signal["signal_id"].startswith("sig_")
    assert before - 1 <= parse_time(signal["received_at"]) <= time.time() + 1
    # Not kept as unknown fields either: nothing of the sender's survives under these names.
    assert "sig_mine" not in str(signal)


def test_ts_defaults_to_the_time_of_receipt(client, ingest, reader):
    before = time.time()
    post(client, ingest, {"type": "config", "service": "checkout"})
    [signal] = get(client, reader)
    assert before - 1 <= parse_time(signal["ts"]) <= time.time() + 1


def test_unknown_top_level_fields_are_kept_and_returned(client, ingest, reader):
    post(client, ingest, {"type": "alert", "service": "checkout", "team": "payments",
                          "ticket": {"id": 5, "url": "https://tickets.example/5"}, "tags": ["p1", "eu"]})
    [signal] = get(client, reader)
    assert signal["team"] == "payments"
    assert signal["ticket"] == {"id": 5, "url": "https://tickets.example/5"}
    assert signal["tags"] == ["p1", "eu"]


def test_unknown_fields_cannot_overwrite_server_fields(client, ingest, reader):
    post(client, ingest, {"type": "config", "service": "checkout", "received_at": 1})
    [signal] = get(client, reader)
    assert parse_time(signal["received_at"]) > 1_000_000


@pytest.mark.parametrize(("field", "limit"), [("reason", 256), ("message", 2048)])
def test_reason_and_message_limits_name_the_field(client, ingest, field, limit):
    ok = client.post("/v1/signals", json={"type": "config", "service": "c", field: "x" * limit}, headers=ingest)
    assert ok.status_code == 200
    response = client.post("/v1/signals", json={"type": "config", "service": "c", field: "x" * (limit + 1)},
                           headers=ingest)
    error = assert_error_shape(response, 400, field)
    assert set(error["fields"]) == {field}


# -- reading ------------------------------------------------------------------------------------

@pytest.fixture
def catalogue(client, ingest):
    """Five signals an hour ago, posted out of time order; returns {name: signal_id} and the base time."""
    base = float(int(time.time()) - 3600)
    items = {
        "s4": {"type": "config", "service": "checkout", "env": "staging", "source": "ci", "ts": base + 40},
        "s3": {"type": "runtime", "service": "checkout", "source": "k8s", "ts": base + 30},
        "s2": {"type": "dependency", "service": "payment", "env": "staging", "source": "statuspage",
               "ts": base + 20},
        "s5": {"type": "deploy", "service": "gateway", "source": "ci", "ts": base + 20},
        "s1": {"type": "deploy", "service": "payment", "source": "ci", "ts": base + 10},
    }
    names = list(items)
    body = post(client, ingest, {"signals": [items[n] for n in names]})
    return dict(zip(names, body["signal_ids"], strict=True)), base


def ids(signals: list[dict]) -> list[str]:
    return [s["signal_id"] for s in signals]


def test_get_filters_by_service_env_type_and_source(client, reader, catalogue):
    sig, _ = catalogue
    assert set(ids(get(client, reader, service="payment"))) == {sig["s1"], sig["s2"]}
    assert set(ids(get(client, reader, env="staging"))) == {sig["s2"], sig["s4"]}
    assert set(ids(get(client, reader, type="deploy"))) == {sig["s1"], sig["s5"]}
    assert set(ids(get(client, reader, source="ci"))) == {sig["s1"], sig["s4"], sig["s5"]}
    assert ids(get(client, reader, service="checkout", env="production")) == [sig["s3"]]
    assert get(client, reader, service="search") == []


def test_get_filters_by_time_since_inclusive_until_exclusive(client, reader, catalogue):
    sig, base = catalogue
    assert set(ids(get(client, reader, since=base + 20))) == {sig["s2"], sig["s5"], sig["s3"], sig["s4"]}
    assert set(ids(get(client, reader, until=base + 30))) == {sig["s1"], sig["s2"], sig["s5"]}
    assert set(ids(get(client, reader, since=base + 20, until=base + 30))) == {sig["s2"], sig["s5"]}
    # RFC 3339 works as well as epoch seconds.
    assert set(ids(get(client, reader, since=iso(base + 30)))) == {sig["s3"], sig["s4"]}


def test_get_orders_by_ts_then_signal_id(client, reader, catalogue):
    sig, _ = catalogue
    tied = sorted([sig["s2"], sig["s5"]])
    assert ids(get(client, reader)) == [sig["s1"], *tied, sig["s3"], sig["s4"]]
    assert ids(get(client, reader, limit=2)) == [sig["s1"], tied[0]]


def test_many_signals_at_one_moment_come_back_in_signal_id_order_every_time(client, ingest, reader):
    ts = time.time() - 30
    body = post(client, ingest, {"signals": [{"type": "config", "service": f"svc{i}", "ts": ts}
                                             for i in range(8)]})
    first = ids(get(client, reader))
    assert first == sorted(body["signal_ids"])
    assert ids(get(client, reader)) == first


# -- deploys ------------------------------------------------------------------------------------

def test_post_deploy_creates_a_deploy_signal_with_its_details_in_attributes(client, ingest, reader):
    body = post(client, ingest, {"service": "payment", "version": "v2.3.1", "env": "staging",
                                 "commit": "0123456789abcdef", "pr_url": "https://git.example/pr/42",
                                 "author": "dana", "message": "faster retries", "pipeline": "release-7"},
                path="/v1/deploys")
    assert body["accepted"] == 1
    [signal] = get(client, reader, type="deploy")
    assert signal["signal_id"] == body["signal_ids"][0]
    assert (signal["service"], signal["env"], signal["source"]) == ("payment", "staging", "deploy-api")
    assert signal["attributes"] == {"version": "v2.3.1", "commit": "0123456789abcdef",
                                    "pr_url": "https://git.example/pr/42", "author": "dana"}
    assert "v2.3.1" in signal["reason"]
    assert signal["message"] == "faster retries"
    assert signal["pipeline"] == "release-7"


def test_deploy_source_can_be_named(client, ingest, reader):
    post(client, ingest, {"service": "payment", "version": "v3", "source": "argo"}, path="/v1/deploys")
    assert get(client, reader, type="deploy")[0]["source"] == "argo"


# -- deploys recognised in traffic ----------------------------------------------------------------

def events(service: str, version: str, *timestamps: float) -> list[dict]:
    return [{"service": service, "step": "POST /charge", "version": version, "ts": ts} for ts in timestamps]


def auto_deploys(client, headers, service: str) -> list[dict]:
    return get(client, headers, service=service, source="onset.auto")


def test_a_new_version_in_traffic_registers_a_deploy(client, ingest, reader):
    service, now = unique("payment"), time.time()
    client.post("/v1/events", json=events(service, "v1", now - 100, now - 90), headers=ingest)
    # The first version ever seen is not a deploy: there is nothing it replaced.
    assert auto_deploys(client, reader, service) == []

    client.post("/v1/events", json=events(service, "v2", now - 5, now - 10, now - 2), headers=ingest)
    [deploy] = auto_deploys(client, reader, service)
    assert deploy["type"] == "deploy"
    assert deploy["attributes"] == {"version": "v2", "previous_version": "v1", "auto": True}
    # The deploy is dated by the first event of the new version.
    assert deploy["ts"] == iso(now - 10)


def test_a_version_is_registered_as_a_deploy_only_once(client, ingest, reader):
    service, now = unique("payment"), time.time()
    client.post("/v1/events", json=events(service, "v1", now - 100), headers=ingest)
    for _ in range(3):
        client.post("/v1/events", json=events(service, "v2", now - 5), headers=ingest)
    assert len(auto_deploys(client, reader, service)) == 1
    # Going back to the old version is not a new version.
    client.post("/v1/events", json=events(service, "v1", now - 1), headers=ingest)
    assert len(auto_deploys(client, reader, service)) == 1


def test_versions_are_tracked_per_environment(client, ingest, reader):
    service, now = unique("payment"), time.time()
    client.post("/v1/events", json=events(service, "v1", now - 100), headers=ingest)
    staging = [{**e, "env": "staging"} for e in events(service, "v2", now - 50)]
    client.post("/v1/events", json=staging, headers=ingest)
    # v2 is the first version staging has seen: no deploy there, and none in production.
    assert auto_deploys(client, reader, service) == []
