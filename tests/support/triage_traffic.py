"""Crafted traffic for triage tests: requests through gateway → checkout → payment →
card-processor as wide events (JSON payload items, as a client would POST them), and the
three failures the report must tell apart: a dependency failing, a bad deploy, an app bug.

`play(...)` feeds history then a burst to an engine with a fake clock and returns the
incident it opened. The same payloads can be POSTed to a live server.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from server.config import Settings
from server.engine.tick import Engine
from server.ingest import events as ingest_events_module
from server.ingest.events import ingest_events
from server.ingest.signals import ingest_signals
from server.store import incidents, lease

# On the 10 s bucket grid (and a minute boundary + 20 s), like tests/support/factories.T0.
T0 = 1_700_000_000.0
GATEWAY = ("gateway", "POST /api/checkout")
CHECKOUT = ("checkout", "POST /checkout")
PAYMENT = ("payment", "POST /charge")


def _event(ts: float, service: str, step: str, trace: str, span: str, parent: str | None, *,
           kind: str = "request", peer: str | None = None, error_code: str | None = None,
           user: str | None = None, version: str | None = None, attributes: dict | None = None,
           duration_ms: float = 20.0) -> dict[str, Any]:
    event: dict[str, Any] = {"ts": ts, "service": service, "step": step, "kind": kind, "trace_id": trace,
                             "span_id": span, "duration_ms": duration_ms}
    if parent:
        event["parent_span_id"] = parent
    if peer:
        event["peer"] = peer
    if error_code:
        event["error_code"] = error_code
    if user:
        event["user_id"] = user
    if version:
        event["version"] = version
    if attributes:
        event["attributes"] = attributes
    return event


@dataclass(frozen=True)
class Fault:
    """Which hop fails and how; None of everything: a healthy request."""

    processor: str | None = None  # payment's call to card-processor fails with this code
    checkout: str | None = None  # checkout fails inside itself with this code (an exception type)
    exception_message: str | None = None


def request(trace: str, ts: float, *, user: str | None = None, fault: Fault = Fault(),
            versions: dict[str, str] | None = None, silent: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """One request's events. A failure propagates up: every caller of a failing hop fails.
    `silent` services send nothing (their spans are left out, links to them dangle)."""
    versions = versions or {}
    g, gc, c, cp, p, pd = (f"{trace}{s}" for s in ("-g", "-gc", "-c", "-cp", "-p", "-pd"))
    processor_failed = fault.processor is not None
    checkout_failed = fault.checkout is not None or processor_failed
    attributes = ({"exception.type": fault.checkout, "exception.message": fault.exception_message}
                  if fault.checkout and fault.exception_message else None)
    events = [
        _event(ts, *GATEWAY, trace, g, None, user=user, version=versions.get("gateway"),
               error_code="E502" if checkout_failed else None),
        _event(ts + 0.001, "gateway", "checkout POST /checkout", trace, gc, g, kind="dependency", peer="checkout",
               error_code="E502" if checkout_failed else None),
        _event(ts + 0.002, *CHECKOUT, trace, c, gc, user=user, version=versions.get("checkout"),
               error_code=fault.checkout or ("E502" if processor_failed else None), attributes=attributes),
    ]
    if fault.checkout is None:
        events += [
            _event(ts + 0.003, "checkout", "payment POST /charge", trace, cp, c, kind="dependency", peer="payment",
                   error_code="E502" if processor_failed else None),
            _event(ts + 0.004, *PAYMENT, trace, p, cp, version=versions.get("payment"),
                   error_code="upstream_timeout" if processor_failed else None),
            _event(ts + 0.005, "payment", "card-processor POST /authorize", trace, pd, p, kind="dependency",
                   peer="card-processor", error_code=fault.processor, duration_ms=3000.0 if processor_failed else 80.0),
        ]
    return [e for e in events if e["service"] not in silent]


def history(start: float, end: float, *, per_bucket: int = 4, versions: dict[str, str] | None = None,
            silent: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Healthy requests in every 10 s bucket of [start, end)."""
    items = []
    t, n = start, 0
    while t < end:
        for i in range(per_bucket):
            items += request(f"h{int(t)}x{i}", t + 1 + i * 8 / per_bucket, user=f"u{n % 7}", versions=versions,
                             silent=silent)
            n += 1
        t += 10
    return items


def burst(at: float, fault: Fault, *, n: int = 12, prefix: str = "f", versions: dict[str, str] | None = None,
          silent: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """`n` failing requests from `at` on, 0.5 s apart, by 6 different users."""
    items = []
    for i in range(n):
        items += request(f"{prefix}{i:03d}", at + i * 0.5, user=f"user{i % 6}", fault=fault, versions=versions,
                         silent=silent)
    return items


def forget_seen_versions() -> None:
    # Ingest remembers versions per process; a test's fresh database must see them anew.
    ingest_events_module._seen_versions.clear()


def send(settings: Settings, items: list[dict[str, Any]], now: float, shuffle: int | None = None) -> None:
    """Ingest `items` in batches; `shuffle` (a seed) stores them in another order."""
    if shuffle is not None:
        items = list(items)
        random.Random(shuffle).shuffle(items)
    for start in range(0, len(items), 1000):
        result = ingest_events(items[start:start + 1000], settings, now)
        assert not result.rejected, result.rejected


def signal(settings: Settings, payload: dict[str, Any], now: float, *, deploy: bool = False) -> str:
    result, records = ingest_signals(payload, settings, now, deploys=deploy)
    assert result.accepted == 1, result.rejected
    return records[0].signal_id


def tick_until(engine: Engine, start: float, end: float, every: float = 10.0) -> list[str]:
    opened = []
    t = start
    while t <= end:
        assert lease.try_acquire(engine.holder, t, engine.settings.lease_seconds)
        result = engine.tick(t)
        assert result.committed
        opened += result.opened
        t += every
    return opened


@dataclass
class Played:
    incident_id: str
    onset_at: float
    signals: dict[str, str]


def play(settings: Settings, engine: Engine, fault: Fault, *, at: float = T0,
         before_burst: Callable[[float], dict[str, str]] | None = None,
         versions: dict[str, str] | None = None, burst_versions: dict[str, str] | None = None,
         silent: tuple[str, ...] = (), prefix: str = "f", shuffle: int | None = None) -> Played:
    """Four healthy windows before `at`, then a burst at `at` + 5 s; ticks through `at` + 30 s.
    Returns the one incident opened. `before_burst(now)` may send signals and returns their
    names -> ids. `shuffle` (a seed) stores the events in another order."""
    forget_seen_versions()
    send(settings, history(at - 240, at, versions=versions, silent=silent), at, shuffle)
    tick_until(engine, at - 200, at - 10)
    found = before_burst(at) if before_burst else {}
    send(settings, burst(at + 5, fault, versions=burst_versions or versions, silent=silent, prefix=prefix), at + 12,
         shuffle)
    opened = tick_until(engine, at + 10, at + 30)
    assert len(opened) == 1, (opened, incidents.list_incidents())
    return Played(opened[0], at + 5, found)


class HealthyTraffic:
    """Requests through gateway → checkout → payment → card-processor, 40 a second."""

    def __init__(self, server: Any):  # a tests.support.live.LiveServer
        self.server, self.stop, self.n = server, threading.Event(), 0
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            events = []
            for _ in range(4):
                events += request(f"ok{self.n}", time.time(), user=f"u{self.n % 9}")
                self.n += 1
            assert self.server.post("/v1/events", events).status_code == 200
            self.stop.wait(0.1)

    def __enter__(self) -> HealthyTraffic:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop.set()
        self.thread.join(5)
