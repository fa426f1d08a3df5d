"""Driving the engine through time on a real database: stored traffic, ticks on a fake clock."""

from __future__ import annotations

from collections.abc import Iterable

from server.engine.model import Family
from server.engine.tick import Engine
from server.store import lease
from server.store.db import write_transaction
from server.store.events import EventRecord, insert_events
from server.store.incidents import list_incidents
from tests.support.factories import event


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def store_events(settings, records: Iterable[EventRecord]) -> None:
    with write_transaction():
        insert_events(list(records), settings.bucket_seconds)


def steady(start: float, end: float, service: str, step: str = "GET /", *, per_bucket: int = 10,
           env: str = "production", duration_ms: float | None = 12.0, errors: int = 0,
           error_code: str = "E500", every: float = 10) -> list[EventRecord]:
    """`per_bucket` healthy requests (and `errors` failing ones) every `every` seconds in [start, end)."""
    records = []
    t = start
    while t < end:
        records += [event(t + 0.5, service, step, env=env, duration_ms=duration_ms) for _ in range(per_bucket)]
        records += [event(t + 0.5, service, step, env=env, error_code=error_code, duration_ms=duration_ms)
                    for _ in range(errors)]
        t += every
    return records


def family_traffic(start: float, end: float, *families: Family) -> list[EventRecord]:
    """10 healthy requests and 1 failure of each family per 10 s bucket."""
    records = []
    for fam in families:
        records += steady(start, end, fam.service, fam.step, env=fam.env, errors=1, error_code=fam.error_code)
    return records


def burst(fam: Family, at: float, n: int = 30) -> list[EventRecord]:
    return [event(at + 2 + i * 0.1, fam.service, fam.step, env=fam.env, error_code=fam.error_code)
            for i in range(n)]


def tick_through(engine: Engine, start: float, end: float, every: float = 10) -> list[str]:
    """Tick from `start` up to and including `end`, taking the lease first as the runner does;
    returns the ids of the incidents opened, of any kind (the sentinel's anomalies too)."""
    before = {i["id"] for i in list_incidents(limit=1000)}
    t = start
    while t <= end:
        assert lease.try_acquire(engine.holder, t, engine.settings.lease_seconds)
        assert engine.tick(t).committed
        t += every
    return sorted(i["id"] for i in list_incidents(limit=1000) if i["id"] not in before)
