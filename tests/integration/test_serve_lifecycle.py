"""The foundation's acceptance, against a real `onset serve` (gunicorn, 2 workers).

Steady traffic, then a burst of payment/charge/PMT_502: exactly one active incident with
that family, then recovering, then resolved. A kill -9 right after an acknowledged batch
loses nothing and keeps the open incident's id. Runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid

import pytest

from server.store import db as store
from server.store.db import close_database, open_database
from tests.support.live import ONSET, LiveServer
from tests.support.live import wait_until as _wait_for

pytestmark = pytest.mark.slow


def _events(service: str, step: str, n: int, *, error_code: str | None = None, env: str = "production"):
    now = time.time()
    return [
        {"ts": now, "service": service, "env": env, "step": step, "duration_ms": 12.5,
         "trace_id": uuid.uuid4().hex, "span_id": uuid.uuid4().hex[:16],
         **({"status": "error", "error_code": error_code} if error_code else {"status": "ok"})}
        for _ in range(n)
    ]


class SteadyTraffic:
    """Background healthy traffic for a service, like a real one would send."""

    def __init__(self, server: LiveServer, service: str, step: str, per_second: int = 40):
        self.server, self.service, self.step, self.rate = server, service, step, per_second
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            response = self.server.post("/v1/events", _events(self.service, self.step, self.rate // 10))
            assert response.status_code == 200, response.text
            self.stop.wait(0.1)

    def __enter__(self) -> SteadyTraffic:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(5)


def _cli_incidents(server: LiveServer, state: str = "all") -> list[dict]:
    out = subprocess.run([ONSET, "incidents", "--json", "--state", state], env=server.env,
                         capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["incidents"]



@pytest.fixture
def server(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    live = LiveServer(tmp_path / "data", url).start()
    yield live
    live.stop()


def test_burst_opens_one_incident_that_recovers_then_resolves(server):
    with SteadyTraffic(server, "payment", "charge"):
        time.sleep(3 * 2 + 0.5)  # three prior windows of steady traffic (window 2 s)
        assert _cli_incidents(server) == []
        for _ in range(4):
            assert server.post("/v1/events", _events("payment", "charge", 5, error_code="PMT_502")).ok
            time.sleep(0.1)

        # Within two ticks after the window that holds the burst.
        active = _wait_for(lambda: _cli_incidents(server, "active"), timeout=2 + 2 * 0.25 + 2)
        assert len(active) == 1
        incident = active[0]
        assert incident["family"] == {"service": "payment", "env": "production", "step": "charge",
                                      "error_code": "PMT_502"}
        assert incident["id"].startswith("inc_")

        recovering = _wait_for(lambda: _cli_incidents(server, "recovering"), timeout=10)
        assert [i["id"] for i in recovering] == [incident["id"]]
        resolved = _wait_for(lambda: _cli_incidents(server, "resolved"), timeout=10)
        assert [i["id"] for i in resolved] == [incident["id"]]

    detail = server.get(f"/v1/incidents/{incident['id']}").json()
    assert [t["to"] for t in detail["transitions"]] == ["active", "recovering", "resolved"]
    assert len(_cli_incidents(server)) == 1


def test_kill_9_after_ack_loses_nothing_and_keeps_the_incident_id(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    # Slow resolution so that the incident is still open across the restart.
    env = {"ONSET_RESOLVE_AFTER_SECONDS": "60"}
    server = LiveServer(tmp_path / "data", url, env=env).start()
    try:
        with SteadyTraffic(server, "payment", "charge"):
            time.sleep(6.5)
            for _ in range(4):
                assert server.post("/v1/events", _events("payment", "charge", 5, error_code="PMT_502")).ok
            open_incident = _wait_for(lambda: _cli_incidents(server, "active"), timeout=6)[0]

        acknowledged = 0
        for _ in range(20):
            response = server.post("/v1/events", _events("payment", "charge", 50, env="kill-test"))
            assert response.status_code == 200
            acknowledged += response.json()["accepted"]
        server.kill()  # right after the last acknowledged batch

        server.start(timeout=30)  # same data, port and settings
        assert _count_events(db_url, tmp_path, env="kill-test") == acknowledged
        after = server.get(f"/v1/incidents/{open_incident['id']}")
        assert after.status_code == 200
        assert after.json()["state"] in ("active", "recovering")
        assert [i["id"] for i in _cli_incidents(server) if i["state"] != "resolved"] == [open_incident["id"]]
    finally:
        server.stop()


def _count_events(db_url: str, tmp_path, env: str) -> int:
    url = db_url if not db_url.startswith("sqlite") else f"sqlite:///{tmp_path / 'data' / 'onset.db'}"
    open_database(url, synchronous="NORMAL")
    try:
        return store.fetchone("SELECT COUNT(*) FROM events WHERE env = ?", (env,))[0]
    finally:
        close_database()
