"""The happy path against a real `onset serve`: events, signals and deploys really arrive,
and a failing dependency becomes an incident with the right origin."""

from __future__ import annotations

import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import onset_sdk
import pytest
import requests
from flask import Flask

from tests.support.live import ADMIN_KEY, LiveServer


@pytest.fixture(scope="module")
def onset(tmp_path_factory) -> Iterator[LiveServer]:
    server = LiveServer(tmp_path_factory.mktemp("onset-sdk-live"), workers=1).start()
    yield server
    server.stop()


@pytest.fixture
def env() -> str:
    """A fresh environment name per test: the tests share one server and never see each other."""
    return f"sdk-{uuid.uuid4().hex[:8]}"


def stored_events(server: LiveServer, env: str) -> list[tuple]:
    with sqlite3.connect(f"file:{server.data_dir / 'onset.db'}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT service, kind, step, status, error_code, peer, trace_id, span_id,"
                            " parent_span_id, user_id, version FROM events WHERE env = ? ORDER BY ts",
                            (env,)).fetchall()


class _CardProcessor(BaseHTTPRequestHandler):
    """An external dependency with no SDK: always 502."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(502)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def card_processor() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _CardProcessor)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def payment_app(card_processor: str) -> Flask:
    app = Flask("payment")

    @app.post("/charges")
    def charge():
        onset_sdk.set_user_id("user-7")
        response = requests.post(f"http://{card_processor}/v1/authorize", json={}, timeout=2)
        if response.status_code >= 500:
            onset_sdk.set_error_code("card_processor_unavailable")
            return {"error": "card processor unavailable"}, 502
        return {"ok": True}

    @app.get("/healthz")
    def healthz():
        return "ok"

    return onset_sdk.instrument_flask(app)


def test_events_arrive(onset, env, card_processor):
    onset_sdk.init(url=onset.url, api_key=ADMIN_KEY, service="payment", env=env, version="3.1.2",
                   flush_interval=0.1, service_map={card_processor: "card-processor"})
    client = payment_app(card_processor).test_client()
    for _ in range(5):
        client.get("/healthz")
    client.post("/charges")
    assert onset_sdk.flush(10)
    assert onset_sdk.stats()["sent"] == 7 and onset_sdk.stats()["dropped"] == 0
    rows = stored_events(onset, env)
    assert len(rows) == 7
    assert {r[2] for r in rows} == {"GET /healthz", "POST /charges", "POST card-processor"}
    request = next(r for r in rows if r[2] == "POST /charges")
    call = next(r for r in rows if r[1] == "dependency")
    assert request[3:5] == ("error", "card_processor_unavailable")
    assert call[3:6] == ("error", "http_502", "card-processor")
    assert (call[6], call[8]) == (request[6], request[7])  # same trace, the call is the request's child
    assert request[9] == "user-7" and request[10] == "3.1.2"


def test_signals_and_deploys_arrive(onset, env):
    onset_sdk.init(url=onset.url, api_key=ADMIN_KEY, service="checkout", env=env, version="1.5.0")
    onset_sdk.deploy(version="1.5.0", commit="9f3c2e1")
    onset_sdk.signal("config", reason="feature flag new_pricing on", message="m" * 5000)
    assert onset_sdk.flush(10)
    body = onset.get("/v1/signals", env=env).json()["signals"]
    by_type = {s["type"]: s for s in body}
    assert by_type["deploy"]["attributes"]["version"] == "1.5.0"
    assert by_type["deploy"]["attributes"]["commit"] == "9f3c2e1"
    assert by_type["config"]["reason"] == "feature flag new_pricing on"
    assert len(by_type["config"]["message"]) == 2048  # bounded by the SDK, so the server took it


def test_a_failing_dependency_becomes_an_incident_with_its_origin(onset, env, card_processor):
    onset_sdk.init(url=onset.url, api_key=ADMIN_KEY, service="payment", env=env, flush_interval=0.1,
                   service_map={card_processor: "card-processor"})
    client = payment_app(card_processor).test_client()
    deadline = time.monotonic() + 20
    incident = None
    while incident is None and time.monotonic() < deadline:
        for _ in range(3):
            client.post("/charges")
        onset_sdk.flush(5)
        found = [i for i in onset.get("/v1/incidents").json()["incidents"] if i["family"]["env"] == env]
        incident = found[0] if found else None
        time.sleep(0.1)
    assert incident is not None, "no incident opened"
    incident = onset.get(f"/v1/incidents/{incident['id']}").json()
    assert (incident["cause"], incident["family"]["service"]) == ("dependency", "payment")
    assert incident["origin"]["service"] == "payment"
    assert incident["origin"]["step"] == "POST /charges"
    assert incident["origin"]["via"] == "card-processor"
