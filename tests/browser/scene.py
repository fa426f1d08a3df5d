"""Crafted traffic against a live server for the browser tests and `make screenshots`:
requests through gateway → checkout → payment → card-processor (tests/support/triage_traffic.py)
sent over HTTP with real timestamps, and the failure that opens an incident."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from tests.support.live import LiveServer
from tests.support.triage_traffic import Fault, request

T = TypeVar("T")


class HealthyTraffic:
    """Healthy requests, about 40 a second, until the block ends."""

    def __init__(self, server: LiveServer):
        self.server, self.stop, self.n = server, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            events = []
            for _ in range(4):
                events += request(f"ok{self.n}", time.time(), user=f"u{self.n % 9}")
                self.n += 1
            self.server.post("/v1/events", events)
            self.stop.wait(0.1)

    def __enter__(self) -> HealthyTraffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(5)


def card_processor_timeouts(server: LiveServer, n: int = 12, prefix: str = "f") -> None:
    """`n` requests whose call from payment to card-processor times out, by 6 users."""
    failing = []
    for i in range(n):
        failing += request(f"{prefix}{i:03d}", time.time(), user=f"user{i % 6}", fault=Fault(processor="timeout"))
    response = server.post("/v1/events", failing)
    assert response.status_code == 200, response.text


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"{what}: not seen within {timeout:g}s")


def active_incidents(server: LiveServer) -> list[dict[str, Any]]:
    return server.get("/v1/incidents", state="active").json()["incidents"]
