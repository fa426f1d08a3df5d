"""A light load generator: client processes posting pre-encoded batches with http.client.

The generator shares the two cores with the server, so it must cost as little as
possible per request: bodies are encoded before the clock starts, each process keeps one
HTTPConnection (kept alive when the server allows it; gunicorn's sync workers close every
connection, and http.client then reconnects by itself), and nothing but a latency sample
and a counter is recorded per request.
"""

from __future__ import annotations

import http.client
import math
import multiprocessing as mp
import random
import statistics
import time
from array import array
from dataclasses import dataclass, field

import orjson

from bench.workload import batch

BODIES_PER_CLIENT = 40


@dataclass
class ClientResult:
    events: int = 0
    requests: int = 0
    connects: int = 0
    failures: int = 0
    first_failure: str = ""
    cpu_seconds: float = 0.0
    latencies: array = field(default_factory=lambda: array("d"))


@dataclass
class LoadResult:
    seconds: float
    events: int
    requests: int
    connects: int
    failures: int
    first_failure: str
    client_cpu_seconds: float
    latencies: list[float]

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds

    def percentile(self, p: float) -> float:
        """Latency percentile in milliseconds (nearest rank)."""
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        rank = max(0, min(len(ordered) - 1, math.ceil(p / 100 * len(ordered)) - 1))
        return ordered[rank] * 1000


def make_bodies(seed: int, size: int, count: int = BODIES_PER_CLIENT) -> list[bytes]:
    rng = random.Random(seed)
    now = time.time()
    return [orjson.dumps({"events": batch(rng, now, size)}) for _ in range(count)]


def _client(port: int, path: str, headers: dict[str, str], seed: int, size: int, warm_until: float,
            end_at: float, out: mp.Queue) -> None:
    bodies = make_bodies(seed, size)
    result = ClientResult()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    cpu0 = None
    i = seed  # clients start at different bodies
    while True:
        body = bodies[i % len(bodies)]
        i += 1
        started_wall = time.time()
        if started_wall >= end_at:
            break
        if cpu0 is None and started_wall >= warm_until:
            cpu0 = time.process_time()
        fresh = conn.sock is None
        started = time.perf_counter()
        try:
            conn.request("POST", path, body, headers)
            response = conn.getresponse()
            data = response.read()
            status = response.status
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            status, data = 0, repr(exc).encode()
        took = time.perf_counter() - started
        if started_wall < warm_until or time.time() > end_at:
            continue  # warm-up, or finished after the clock stopped: not counted
        result.requests += 1
        result.connects += fresh
        accepted = orjson.loads(data).get("accepted") if status == 200 else None
        if accepted == size:
            result.events += size
            result.latencies.append(took)
        else:
            result.failures += 1
            if not result.first_failure:
                result.first_failure = f"HTTP {status}: {data[:300]!r}"
    conn.close()
    result.cpu_seconds = time.process_time() - cpu0 if cpu0 is not None else 0.0
    out.put(result)


def run_load(port: int, key: str | None, *, clients: int, seconds: float, warmup: float, size: int,
             on_start=None, on_end=None) -> LoadResult:
    """Drive POST /v1/events from `clients` processes for `warmup` + `seconds`.

    `on_start` and `on_end` are called in this process when the measured window opens and
    closes (to read the server's CPU time).
    """
    headers = {"Content-Type": "application/json", "Connection": "keep-alive"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    begin = time.time() + 1.0  # time for every client to encode its bodies
    warm_until = begin + warmup
    end_at = warm_until + seconds
    procs = [ctx.Process(target=_client, args=(port, "/v1/events", headers, 1000 + n, size, warm_until, end_at, out),
                         daemon=True) for n in range(clients)]
    for p in procs:
        p.start()
    try:
        time.sleep(max(0.0, warm_until - time.time()))
        if on_start:
            on_start()
        time.sleep(max(0.0, end_at - time.time()))
        if on_end:
            on_end()
        results = [out.get(timeout=60) for _ in procs]
    finally:
        for p in procs:
            p.join(10)
            if p.is_alive():
                p.kill()
                p.join()
    latencies = [x for r in results for x in r.latencies]
    failures = [r.first_failure for r in results if r.first_failure]
    return LoadResult(seconds, sum(r.events for r in results), sum(r.requests for r in results),
                      sum(r.connects for r in results), sum(r.failures for r in results),
                      failures[0] if failures else "", sum(r.cpu_seconds for r in results), latencies)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")
