"""Steady, jittered shop traffic: orders to the gateway from a few threads.

The client is plain `http.client` with no SDK: like a browser, it sends Onset nothing,
so every trace starts at the gateway. It stops when told, and by itself after
`max_seconds` whatever happens.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from urllib.parse import urlsplit

SKUS = ("sku-1", "sku-2", "sku-3", "sku-4")


class Traffic:
    def __init__(self, gateway_url: str, rate: float = 20.0, threads: int = 4, max_seconds: float = 300.0):
        parts = urlsplit(gateway_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.rate = rate
        self.threads = threads
        self.max_seconds = max_seconds
        self.ok = 0
        self.failed = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def start(self) -> Traffic:
        deadline = time.monotonic() + self.max_seconds
        for i in range(self.threads):
            worker = threading.Thread(target=self._run, args=(i, deadline), name=f"traffic-{i}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def stop(self) -> None:
        self._stop.set()
        for worker in self._workers:
            worker.join(10)
        self._workers.clear()

    def counts(self) -> tuple[int, int]:
        with self._lock:
            return self.ok, self.failed

    def _run(self, index: int, deadline: float) -> None:
        rng = random.Random(index)
        period = self.threads / self.rate
        next_at = time.monotonic() + rng.uniform(0, period)
        while not self._stop.is_set() and time.monotonic() < deadline:
            wait = next_at - time.monotonic()
            if wait > 0 and self._stop.wait(wait):
                return
            next_at = max(next_at, time.monotonic() - period) + period * rng.uniform(0.5, 1.5)
            order = {"sku": rng.choice(SKUS), "qty": rng.randint(1, 3), "user": f"user-{rng.randint(1, 40)}"}
            good = self._order(order)
            with self._lock:
                if good:
                    self.ok += 1
                else:
                    self.failed += 1

    def _order(self, order: dict) -> bool:
        conn = http.client.HTTPConnection(self.host, self.port, timeout=5)
        try:
            conn.request("POST", "/api/orders", body=json.dumps(order),
                         headers={"Content-Type": "application/json"})
            response = conn.getresponse()
            response.read()
            return response.status < 500
        except (OSError, http.client.HTTPException):
            return False
        finally:
            conn.close()
