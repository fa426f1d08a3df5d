"""Several hosts: two `onset serve` processes (2 workers each) on different ports, one
PostgreSQL, one Redis. Ingest goes to either; exactly one engine leads; a burst split across
both hosts opens one incident and one notification; the rate-limit budget of a key is one
budget across both hosts; killing the leader's host hands the lease to the other within
ONSET_LEASE_SECONDS and a tick."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import psycopg2
import pytest
import requests

from server.store import keys
from server.store.db import close_database, open_database
from tests.conftest import IN_CI, PG_URL, _pg_database_url
from tests.support.live import FAST, ONSET, LiveServer
from tests.support.receiver import Receiver
from tests.unit.ops.test_ratelimit import redis_or_skip

pytestmark = [pytest.mark.slow, pytest.mark.postgres]

LEASE_SECONDS = float(FAST["ONSET_LEASE_SECONDS"])
TICK_SECONDS = float(FAST["ONSET_TICK_SECONDS"])
READ_RPS = 10


@pytest.fixture
def pg_url() -> str:
    if not PG_URL:
        if IN_CI:
            pytest.fail("ONSET_TEST_DATABASE_URL is not set in CI")
        pytest.skip("set ONSET_TEST_DATABASE_URL to run the several-hosts test")
    return _pg_database_url()


@pytest.fixture
def hosts(pg_url, tmp_path):
    redis_url = redis_or_skip()
    env = {"ONSET_RATELIMIT_STORAGE": redis_url, "ONSET_RATELIMIT_READ_RPS": str(READ_RPS),
           "ONSET_RATELIMIT_INGEST_RPS": "1000", "ONSET_SQLITE_SYNCHRONOUS": "FULL"}
    a = LiveServer(tmp_path / "host-a", pg_url, env=env).start()
    b = LiveServer(tmp_path / "host-b", pg_url, env=env).start()
    yield a, b
    for host in (a, b):
        host.stop()


def query(pg_url: str, sql: str, params=()) -> list[tuple]:
    conn = psycopg2.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


def parent_of(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def leader(pg_url: str) -> tuple[str | None, float | None]:
    holder, expires = query(pg_url, "SELECT holder, expires_at FROM engine_lease WHERE name = 'engine'")[0]
    return holder, expires


def host_of(holder: str | None, hosts: tuple[LiveServer, ...]) -> LiveServer | None:
    if not holder:
        return None
    pid = int(holder.split(":")[1])
    return next((h for h in hosts if h.proc is not None and parent_of(pid) == h.proc.pid), None)


def events(n: int, service: str, step: str, error_code: str | None = None) -> list[dict]:
    now = time.time()
    return [{"ts": now, "service": service, "step": step, "trace_id": uuid.uuid4().hex,
             **({"status": "error", "error_code": error_code} if error_code else {})} for _ in range(n)]


def send_both(hosts, batch_of, rounds: int, pause: float = 0.1) -> None:
    for _ in range(rounds):
        for host in hosts:
            response = host.post("/v1/events", batch_of())
            assert response.status_code == 200, response.text
        time.sleep(pause)


def read_key(pg_url: str) -> str:
    open_database(pg_url)
    try:
        key, _ = keys.create_key("reader", ("read",))
    finally:
        close_database()
    return key


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


def test_two_hosts_share_one_database_one_leader_one_budget_and_hand_over_the_lease(hosts, pg_url):
    a, b = hosts
    receiver = Receiver().start()
    try:
        channel = a.post("/v1/channels", {"type": "webhook", "url": receiver.url, "name": "hosts"})
        assert channel.status_code == 201, channel.text

        # Exactly one leader, and both hosts' /readyz name it.
        holder, _ = wait_for(lambda: leader(pg_url)[0] and leader(pg_url), 10)
        leading = host_of(holder, hosts)
        assert leading is not None, holder
        for host in hosts:
            assert host.get("/readyz").json()["checks"]["engine"]["leader"] == holder

        # Ingest to either: healthy traffic on both, then a burst split across both hosts.
        send_both(hosts, lambda: events(20, "checkout", "POST /checkout"), rounds=25)
        send_both(hosts, lambda: events(10, "checkout", "POST /checkout", "E500"), rounds=3, pause=0.05)
        incident = wait_for(lambda: a.get("/v1/incidents").json()["incidents"], 15)
        assert len(incident) == 1 and incident[0]["family"]["step"] == "POST /checkout"
        assert [i["id"] for i in b.get("/v1/incidents").json()["incidents"]] == [incident[0]["id"]]
        receiver.wait_for(lambda r: any(e == (incident[0]["id"], "opened") for e in r.events()), 15)

        # One budget across both hosts (4 worker processes): memory storage would allow 4x.
        key = read_key(pg_url)
        allowed, refused, started = 0, 0, time.monotonic()
        while time.monotonic() - started < 2.0:
            for host in hosts:
                status = requests.get(host.url + "/v1/incidents", headers=host.headers(key), timeout=5).status_code
                allowed += status == 200
                refused += status == 429
        elapsed = time.monotonic() - started
        print(f"\nshared budget: {allowed} allowed, {refused} refused in {elapsed:.1f}s at {READ_RPS}/s per key"
              f" across 2 hosts x 2 workers")
        assert refused > 0
        assert allowed <= READ_RPS * (elapsed + 1.5), allowed

        # Kill the leader's host: the other takes the lease within the lease time and a tick.
        survivor = b if leading is a else a
        killed_at = time.monotonic()
        leading.kill()
        new_holder = wait_for(lambda: (h := leader(pg_url)[0]) and host_of(h, (survivor,)) and h, 15, 0.05)
        handover = time.monotonic() - killed_at
        print(f"lease handed over in {handover:.2f}s (ONSET_LEASE_SECONDS={LEASE_SECONDS:g},"
              f" tick {TICK_SECONDS:g}s): {holder} -> {new_holder}")
        assert handover <= LEASE_SECONDS + TICK_SECONDS + 1.0
        survivor.wait(lambda r: r.status_code == 200, "/readyz", 10)

        # The survivor goes on: the open incident keeps its id, a new burst opens one more.
        send_both((survivor,), lambda: events(20, "search", "GET /search"), rounds=25)
        send_both((survivor,), lambda: events(15, "search", "GET /search", "E503"), rounds=2, pause=0.05)
        wait_for(lambda: len(survivor.get("/v1/incidents").json()["incidents"]) == 2, 15)
        rows = query(pg_url, "SELECT id, service, step, error_code FROM incidents ORDER BY onset")
        assert [r[1] for r in rows] == ["checkout", "search"] and rows[0][0] == incident[0]["id"]
        outbox = query(pg_url, "SELECT subject_id, event, COUNT(*) FROM notifications GROUP BY subject_id, event"
                               " HAVING COUNT(*) > 1")
        assert outbox == []
        print(f"incidents: {len(rows)}, notification deliveries: {len(receiver.requests)} (receiver dropped"
              f" {receiver.duplicates} repeats of a dedupe key)")
    finally:
        receiver.stop()


def test_both_hosts_report_the_shared_state_and_doctor_finds_them_healthy(hosts):
    a, b = hosts
    send_both(hosts, lambda: events(5, "checkout", "POST /checkout"), rounds=4)
    scraped = [host.get("/metrics").text for host in hosts]
    for text in scraped:
        # Counters are per host (each counts what it took: 4 batches of 5); the database up.
        assert 'onset_ingest_accepted_total{kind="events"} 20.0' in text
        assert "onset_database_up 1.0" in text
    lease_lines = [[x for x in text.splitlines() if x.startswith("onset_engine_lease_held")] for text in scraped]
    assert lease_lines[0] == lease_lines[1] == ["onset_engine_lease_held 1.0"]
    doctor = subprocess.run([ONSET, "doctor", "--server", a.url], env=a.env, capture_output=True, text=True,
                            timeout=60)
    assert doctor.returncode == 0, doctor.stdout + doctor.stderr
    assert "server /readyz" in doctor.stdout
