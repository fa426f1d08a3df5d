"""Engine tick time over a realistic hour: 1,000,000 stored events, then a spike.

The database is filled through `insert_events` (the ingest path's own insert, so the
`event_counts` counters match the events), in large transactions. The hour carries the
workload's steady background errors (twenty noisy families the engine looks at every tick
without opening anything); the last 50 seconds carry a dependency failure that propagates
through two services: one incident with two families opens on the first tick after it.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from bench import workload
from server.config import load_settings
from server.engine.tick import Engine
from server.ingest.events import new_signal_id
from server.store import db as store
from server.store import lease, migrate
from server.store.db import close_database, open_database
from server.store.events import EventRecord, insert_events
from server.store.signals import SignalRecord, insert_signals

HOUR = 3600.0
CHUNK = 50_000
SPIKE_TRACES = 300
# The failure: checkout calls payments, whose call to the card processor times out.
CHECKOUT = ("svc-checkout", "POST /v1/submit")
PAYMENTS = ("svc-payments", "POST /v1/confirm")


@dataclass
class TickReport:
    events: int
    counters: int
    fill_seconds: float
    consistent: bool
    quiet_ms: list[float] = field(default_factory=list)
    first_ms: float = 0.0
    opened: tuple[str, ...] = ()
    families: int = 0
    cause: str = ""
    steady_ms: list[float] = field(default_factory=list)
    steady_normal_ms: list[float] = field(default_factory=list)

    @staticmethod
    def median(values: list[float]) -> float:
        return statistics.median(values) if values else float("nan")


def _attribute_pool(rng: random.Random, size: int = 64) -> list[str]:
    pool = []
    for _ in range(size):
        attrs = workload.event(rng, 0.0)["attributes"]
        pool.append(orjson.dumps(attrs, option=orjson.OPT_SORT_KEYS).decode())
    return pool


def background(rng: random.Random, start: float, count: int) -> list[EventRecord]:
    """`count` events spread evenly over the hour from `start`, time-ordered, as validated records."""
    attrs = _attribute_pool(rng)
    versions = {s: f"1.{i % 7}.3" for i, s in enumerate(workload.SERVICES)}
    services, steps, codes, peers = workload.SERVICES, workload.STEPS, workload.ERROR_CODES, workload.PEERS
    noisy = workload.NOISY
    step_seconds = HOUR / count
    rand, choice, bits = rng.random, rng.choice, rng.getrandbits
    records = []
    for i in range(count):
        ts = start + i * step_seconds
        failing = rand() < workload.ERROR_RATE
        if failing and rand() < workload.NOISY_SHARE:
            service, step, code = choice(noisy)
        else:
            service, step, code = choice(services), choice(steps), choice(codes)
        dependency = rand() < workload.DEPENDENCY_SHARE
        records.append(EventRecord(
            ts, ts + 0.05, service, "production", versions[service],
            "dependency" if dependency else "request", choice(peers) if dependency else None, step,
            "error" if failing else "ok", code if failing else None, round(rng.lognormvariate(3, 0.8), 3),
            f"{bits(128):032x}", f"{bits(64):016x}", f"{bits(64):016x}", f"user-{bits(17)}", choice(attrs),
        ))
    return records


def spike(rng: random.Random, start: float, end: float) -> list[EventRecord]:
    """Traces failing checkout -> payments -> card processor, spread over [start, end)."""
    records = []
    for i in range(SPIKE_TRACES):
        ts = start + (end - start) * i / SPIKE_TRACES
        trace = f"{rng.getrandbits(128):032x}"
        root, mid, leaf = (f"{rng.getrandbits(64):016x}" for _ in range(3))
        records += [
            EventRecord(ts, ts + 2.1, CHECKOUT[0], "production", "1.1.3", "request", None, CHECKOUT[1], "error",
                        "http_500", 2050.0, trace, root, None, f"user-{i}", None),
            EventRecord(ts + 0.01, ts + 2.1, PAYMENTS[0], "production", "1.2.3", "request", None, PAYMENTS[1],
                        "error", "upstream_timeout", 2010.0, trace, mid, root, f"user-{i}", None),
            EventRecord(ts + 0.02, ts + 2.1, PAYMENTS[0], "production", "1.2.3", "dependency", "stripe", PAYMENTS[1],
                        "error", "upstream_timeout", 2000.0, trace, leaf, mid, f"user-{i}", None),
        ]
    return records


def _insert(records: list[EventRecord], bucket_seconds: float) -> None:
    for lo in range(0, len(records), CHUNK):
        with store.write_transaction():
            insert_events(records[lo:lo + CHUNK], bucket_seconds)


def _timed_tick(engine: Engine, now: float) -> tuple[float, tuple[str, ...]]:
    if not lease.try_acquire(engine.holder, now, engine.settings.lease_seconds):
        raise RuntimeError("the benchmark engine could not take the lease")
    started = time.perf_counter()
    result = engine.tick(now)
    took = (time.perf_counter() - started) * 1000
    if not result.committed:
        raise RuntimeError("the benchmark engine lost its lease")
    return took, result.opened


def run(workdir: Path, events: int = 1_000_000, steady: int = 10, log=print) -> TickReport:
    settings = load_settings({}, data_dir=str(workdir / "tick"))
    rng = random.Random(7)
    bucket = settings.bucket_seconds
    # Mid-bucket, like a real tick: the current window is [hi - 60 s, hi) with hi the next bucket edge.
    now = (time.time() // bucket) * bucket + bucket / 2
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    try:
        migrate.migrate()
        started = time.perf_counter()
        records = background(rng, now - HOUR, events - 3 * SPIKE_TRACES)
        _insert(records, bucket)
        with store.write_transaction():
            # A deploy of the failing service ten minutes before: the engine must weigh it.
            insert_signals([SignalRecord(new_signal_id(now - 600), now - 600, now - 600, "deploy", PAYMENTS[0],
                                         "production", "ci", "deploy 1.2.3", None, {"version": "1.2.3"}, {})])
        fill = time.perf_counter() - started
        del records
        total = store.fetchone("SELECT COUNT(*) FROM events")[0]
        log(f"  filled {total:,} events in {fill:.1f} s; ticking")

        engine = Engine(settings, "bench-engine")
        report = TickReport(0, 0, fill, False)
        for _ in range(3):  # an hour of background errors, nothing spiking: nothing opens
            took, opened = _timed_tick(engine, now)
            if opened:
                raise RuntimeError(f"a quiet tick opened {opened}")
            report.quiet_ms.append(took)

        with store.write_transaction():
            insert_events(spike(rng, now - 50, now - 1), bucket)
        report.first_ms, report.opened = _timed_tick(engine, now)
        if report.opened:
            report.families = store.fetchone(
                "SELECT COUNT(*) FROM incident_families WHERE incident_id = ?", (report.opened[0],))[0]
            cause, confidence = store.fetchone("SELECT cause, confidence FROM incidents WHERE id = ?",
                                               (report.opened[0],))
            report.cause = f"{cause}, {confidence} confidence"
        for i in range(1, steady + 1):
            report.steady_ms.append(_timed_tick(engine, now + i * 0.01)[0])

        report.events = store.fetchone("SELECT COUNT(*) FROM events")[0]
        report.counters = store.fetchone("SELECT COUNT(*) FROM event_counts")[0]
        counted, errors = store.fetchone(
            "SELECT SUM(n), SUM(CASE WHEN error_code <> '' THEN n ELSE 0 END) FROM event_counts")
        stored_errors = store.fetchone("SELECT COUNT(*) FROM events WHERE status = 'error'")[0]
        report.consistent = counted == report.events and errors == stored_errors
    finally:
        close_database()

    # The same database, ticking with ONSET_SQLITE_SYNCHRONOUS=NORMAL.
    open_database(settings.resolved_database_url, synchronous="NORMAL")
    try:
        engine = Engine(settings, "bench-engine")
        for i in range(steady + 1, 2 * steady + 1):
            report.steady_normal_ms.append(_timed_tick(engine, now + i * 0.01)[0])
    finally:
        close_database()
    return report
