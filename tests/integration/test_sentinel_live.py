"""The sentinel's acceptance against a real `onset serve` (SQLite and PostgreSQL), with a real
local receiver for the notifications.

* A service that stops sending while another keeps going raises service_silent within two
  windows, delivers exactly one notification, is critical in the service health, and
  clears with exactly one more notification when it comes back.
* Killing the engine makes /readyz fail within three tick intervals; the next engine
  raises sentinel_stale for the gap and clears it, with both notifications delivered.
"""

from __future__ import annotations

import subprocess
import threading
import time

import orjson
import pytest

from demo.shop import Shop
from demo.traffic import Traffic as ShopTraffic
from tests.support.live import ADMIN_KEY, FAST, ONSET, LiveServer, wait_until
from tests.support.receiver import Receiver

pytestmark = pytest.mark.slow

WINDOW = float(FAST["ONSET_WINDOW_SECONDS"])
TICK = float(FAST["ONSET_TICK_SECONDS"])
SENTINEL = {"ONSET_SENTINEL_BASELINE_WINDOWS": "3", "ONSET_NOTIFY_POLL_SECONDS": "0.1",
            "ONSET_NOTIFY_BACKOFF_SECONDS": "0.2", "ONSET_NOTIFY_TIMEOUT_SECONDS": "2"}


def cli(server: LiveServer, *args: str) -> str:
    done = subprocess.run([ONSET, *args], env=server.env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return done.stdout


class Traffic:
    """Plain HTTP events, 10 per service every 0.1 s; a service can be paused and resumed."""

    def __init__(self, server: LiveServer, *services: str):
        self.server = server
        self.running = {s: threading.Event() for s in services}
        for flag in self.running.values():
            flag.set()
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            now = time.time()
            batch = [{"ts": now, "service": s, "step": "GET /", "duration_ms": 8.0}
                     for s, flag in self.running.items() if flag.is_set() for _ in range(2)]
            if batch:
                assert self.server.post("/v1/events", batch).status_code == 200
            self.stop.wait(0.1)

    def __enter__(self) -> Traffic:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


def health_alerts(server: LiveServer, state: str = "all", key: str | None = None) -> list[dict]:
    found = server.get("/v1/health/alerts", state=state).json()["health_alerts"]  # (LiveServer.get's `key` is the API key)
    return [a for a in found if key is None or a["key"] == key]



def test_a_stopped_service_is_silent_within_two_windows_notified_once_and_cleared_once(tmp_path, db_url):
    receiver = Receiver().start()
    server = LiveServer(tmp_path / "data", db_url if db_url.startswith("postgres") else None, env=SENTINEL).start()
    try:
        added = orjson.loads(cli(server, "channels", "add", "webhook", "--url", receiver.url, "--name", "oncall",
                                 "--json"))
        assert added["type"] == "webhook"
        assert added["id"] in cli(server, "channels", "list")
        with Traffic(server, "checkout", "payment") as traffic:
            time.sleep((3 + 1) * WINDOW + 1)  # a steady baseline for both
            stopped_at = time.time()
            traffic.running["payment"].clear()
            [alert] = wait_until(lambda: health_alerts(server, "active", "service_silent"), 4 * WINDOW,
                                 "service_silent was never raised")
            assert alert["scope"] == "service:payment@production" and alert["severity"] == "critical"
            raised_at = time.mktime(time.strptime(alert["raised_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
            assert raised_at - stopped_at <= 2 * WINDOW + TICK
            health = {s["service"]: s for s in server.get("/v1/health/services").json()["services"]}
            assert health["payment"]["health"] == "critical" and health["checkout"]["health"] == "ok"
            receiver.wait_for(lambda r: len(r.accepted) >= 1, timeout=10)
            time.sleep(2 * TICK)
            assert receiver.events() == [(alert["id"], "raised")]

            traffic.running["payment"].set()
            wait_until(lambda: health_alerts(server, "cleared", "service_silent"), 3 * WINDOW,
                       "service_silent never cleared")
            receiver.wait_for(lambda r: len(r.accepted) >= 2, timeout=10)
            time.sleep(WINDOW)  # the refilling window must not look like a collapse
            # Still inside the traffic: once it stops, both services go silent in turn.
            assert receiver.events() == [(alert["id"], "raised"), (alert["id"], "cleared")]
            assert receiver.duplicates == 0
            assert [a["key"] for a in health_alerts(server)] == ["service_silent"]
            assert "service_silent" in cli(server, "health", "--state", "all")
            delivered = orjson.loads(cli(server, "notifications", "--json"))["notifications"]
            assert [(n["subject_id"], n["event"], n["state"]) for n in reversed(delivered)] == [
                (alert["id"], "raised", "delivered"), (alert["id"], "cleared", "delivered")]
    finally:
        server.stop()
        receiver.stop()


def test_a_killed_engine_fails_readiness_and_the_next_one_raises_and_clears_sentinel_stale(tmp_path, db_url):
    receiver = Receiver().start()
    database = db_url if db_url.startswith("postgres") else None
    server = LiveServer(tmp_path / "data", database, env={**SENTINEL, "ONSET_ENGINE_ENABLED": "false"})
    engine = LiveServer(tmp_path / "data", database, env=SENTINEL, command="engine")
    try:
        # One after the other: two processes preparing a fresh database at once race on the
        # bootstrap key (bootstrap.prepare checks, then inserts).
        server.start(wait_ready=False)
        server.wait(lambda r: r.status_code == 200, "/livez", 30)
        engine.start(wait_ready=False)
        server.wait(lambda r: r.status_code == 200, "/readyz", 30)
        cli(server, "channels", "add", "webhook", "--url", receiver.url)
        time.sleep(4 * TICK)
        killed_at = time.time()
        engine.kill()
        failed = wait_until(lambda: server.get("/readyz").status_code == 503 and time.time(), 10,
                            "/readyz never failed")
        assert failed - killed_at <= 3 * TICK + 0.5
        body = server.get("/readyz").json()
        assert body["checks"]["engine"]["ok"] is False and "no tick for" in body["checks"]["engine"]["reason"]
        time.sleep(float(FAST["ONSET_LEASE_SECONDS"]) + 0.5)  # the dead leader's lease runs out
        engine.start(wait_ready=False)
        server.wait(lambda r: r.status_code == 200, "/readyz", 20)
        [stale] = wait_until(lambda: health_alerts(server, "all", "sentinel_stale"), 10, "no sentinel_stale")
        assert stale["state"] == "cleared" and stale["scope"] == "engine"
        assert stale["details"]["gap_seconds"] >= float(FAST["ONSET_LEASE_SECONDS"])
        receiver.wait_for(lambda r: len(r.accepted) >= 2, timeout=15)
        assert receiver.events() == [(stale["id"], "raised"), (stale["id"], "cleared")]
    finally:
        engine.stop()
        server.stop()
        receiver.stop()


def test_stopping_the_demo_shops_payment_service_raises_service_silent_and_clears_when_it_returns(tmp_path):
    receiver = Receiver().start()
    server = LiveServer(tmp_path / "data", env=SENTINEL).start()
    shop = Shop(server.url, ADMIN_KEY, "production", tmp_path / "shop")
    traffic = None
    try:
        cli(server, "channels", "add", "webhook", "--url", receiver.url)
        shop.start()
        traffic = ShopTraffic(shop.gateway_url, rate=20).start()
        time.sleep((3 + 1) * WINDOW + 1)  # a steady baseline for every service
        stopped_at = time.time()
        shop.stop_service("payment")
        [alert] = wait_until(lambda: [a for a in health_alerts(server, "active", "service_silent")
                                      if a["scope"].startswith("service:payment@")], 4 * WINDOW,
                             "service_silent was never raised for payment")
        raised_at = time.mktime(time.strptime(alert["raised_at"][:19], "%Y-%m-%dT%H:%M:%S")) - time.timezone
        assert raised_at - stopped_at <= 2 * WINDOW + 1  # within two windows (+ the SDK's last flush)
        health = {s["service"]: s["health"] for s in server.get("/v1/health/services").json()["services"]}
        assert health["payment"] == "critical"
        receiver.wait_for(lambda r: (alert["id"], "raised") in r.events(), timeout=10)

        shop.restart_service("payment")
        wait_until(lambda: [a for a in health_alerts(server, "cleared", "service_silent") if a["id"] == alert["id"]],
                   4 * WINDOW, "service_silent never cleared")
        receiver.wait_for(lambda r: (alert["id"], "cleared") in r.events(), timeout=10)
        about_payment = [e for e in receiver.events() if e[0] == alert["id"]]
        assert about_payment == [(alert["id"], "raised"), (alert["id"], "cleared")]  # once each
    finally:
        if traffic is not None:
            traffic.stop()
        shop.stop()
        server.stop()
        receiver.stop()
