"""Metrics and rate limits on a real `onset serve` with two gunicorn workers: the metrics
listener (ONSET_METRICS_ADDR) answers without a key and serves nothing else; the counters
are summed over the workers, whichever answers the scrape, and survive a worker's death;
a key hammering its budget neither limits nor slows another key."""

from __future__ import annotations

import os
import signal
import statistics
import threading
import time
from pathlib import Path

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from server.store import keys
from server.store.db import close_database, open_database
from tests.support.live import LiveServer, free_port
from tests.unit.ops.test_ratelimit import redis_or_skip

pytestmark = pytest.mark.slow


def accepted_events(text: str) -> float:
    for metric_family in text_string_to_metric_families(text):
        for sample in metric_family.samples:
            if sample.name == "onset_ingest_accepted_total" and sample.labels == {"kind": "events"}:
                return sample.value
    return 0.0


def workers_of(server: LiveServer) -> list[int]:
    master = server.proc.pid
    found = []
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            lines = status.read_text().splitlines()
        except OSError:
            continue
        if any(line == f"PPid:\t{master}" for line in lines):
            found.append(int(status.parent.name))
    return sorted(found)


def new_key(server: LiveServer, *scopes: str) -> str:
    open_database(f"sqlite:///{server.data_dir / 'onset.db'}", synchronous="NORMAL")
    try:
        key, _ = keys.create_key("live-test", scopes)
    finally:
        close_database()
    return key


def test_the_metrics_listener_sums_every_worker_and_survives_a_worker_death(tmp_path):
    metrics_port = free_port()
    stale = tmp_path / "data" / "metrics" / "99999999"  # a server that is gone (above any pid_max)
    stale.mkdir(parents=True)
    (stale / "counter_123.db").write_bytes(b"old samples")
    server = LiveServer(tmp_path / "data", env={"ONSET_METRICS_ADDR": f"127.0.0.1:{metrics_port}"}).start()
    scrape_url = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        for _ in range(40):  # new connections: the kernel spreads them over both workers
            assert server.post("/v1/events", [{"service": "checkout", "step": "GET /"}] * 5).status_code == 200
        scrapes = [accepted_events(requests.get(scrape_url, timeout=5).text) for _ in range(6)]
        assert scrapes == [200.0] * 6

        assert requests.get(f"http://127.0.0.1:{metrics_port}/v1/incidents", timeout=5).status_code == 404
        assert requests.get(server.url + "/metrics", timeout=5).status_code == 401
        assert server.get("/metrics").status_code == 200

        before = workers_of(server)
        assert len(before) == 2
        os.kill(before[0], signal.SIGKILL)
        deadline = time.time() + 20
        while time.time() < deadline and (len(workers_of(server)) != 2 or before[0] in workers_of(server)):
            time.sleep(0.1)
        server.wait(lambda r: r.status_code == 200, "/livez")
        assert accepted_events(requests.get(scrape_url, timeout=5).text) == 200.0  # the dead worker's count stays
        assert server.post("/v1/events", [{"service": "checkout", "step": "GET /"}] * 5).status_code == 200
        assert accepted_events(requests.get(scrape_url, timeout=5).text) == 205.0
        dirs = list((tmp_path / "data" / "metrics").iterdir())
        assert [d.name for d in dirs] == [str(server.proc.pid)]  # the stale one was cleaned at start
    finally:
        server.stop()


def test_one_key_hammering_its_limit_never_limits_or_slows_another(tmp_path):
    redis_url = redis_or_skip()
    server = LiveServer(tmp_path / "data", env={"ONSET_RATELIMIT_INGEST_RPS": "20",
                                                "ONSET_RATELIMIT_STORAGE": redis_url}).start()
    try:
        hammer, quiet = new_key(server, "ingest"), new_key(server, "ingest")
        body = [{"service": "checkout", "step": "GET /"}]

        def quiet_requests(seconds: float) -> tuple[list[int], list[float]]:
            codes, latencies = [], []
            session = requests.Session()
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                started = time.perf_counter()
                response = session.post(server.url + "/v1/events", json=body, headers=server.headers(quiet), timeout=10)
                latencies.append(time.perf_counter() - started)
                codes.append(response.status_code)
                time.sleep(0.1)
            return codes, latencies

        _, alone = quiet_requests(1.5)
        stop = threading.Event()
        hammered: list[int] = []

        def hammer_it() -> None:
            session = requests.Session()
            while not stop.is_set():
                hammered.append(session.post(server.url + "/v1/events", json=body, headers=server.headers(hammer),
                                             timeout=10).status_code)

        threads = [threading.Thread(target=hammer_it, daemon=True) for _ in range(3)]
        for t in threads:
            t.start()
        time.sleep(0.3)
        codes, during = quiet_requests(3.0)
        stop.set()
        for t in threads:
            t.join(10)
        print(f"\nhammering key: {hammered.count(200)} accepted, {hammered.count(429)} refused; quiet key:"
              f" {codes.count(200)}/{len(codes)} accepted, median latency {statistics.median(alone) * 1000:.1f} ms"
              f" alone, {statistics.median(during) * 1000:.1f} ms while the other key hammered")
        assert hammered.count(429) > 0
        assert codes and set(codes) == {200}
        assert statistics.median(during) < max(0.25, 5 * statistics.median(alone))
    finally:
        server.stop()
