"""Prometheus metrics: named functions the code calls, and the text exposition of /metrics.

Under gunicorn every worker is a process. `onset serve` calls `prepare_multiprocess` before
the workers fork: each worker then writes its samples to files in a fresh directory under
the data dir, and a scrape answered by any worker sums them all (prometheus_client's
multiprocess mode; the master marks dead workers in its child_exit hook). Without it (tests,
`create_app` alone) the samples live in this process.

What describes shared state — incidents by state, the engine's last tick — is read from the
database at scrape time (`api.metrics.StoreCollector`), so every worker and every host
reports the same truth. Only counters and histograms go through the multiprocess files
(their sums are exact). This module imports nothing of the store: ingest, auth and the
engine all call it.
"""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client import multiprocess as prometheus_multiprocess
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"  # prometheus_client's own variable, not an Onset setting
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
TICK_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_multiproc_dir: str | None = None


@dataclass(frozen=True)
class Instruments:
    ingest_accepted: Counter
    ingest_rejected: Counter
    ingest_requests: Counter
    ingest_duration: Histogram
    tick_duration: Histogram
    ticks: Counter
    notifications_sent: Counter
    notifications_failed: Counter
    rate_limited: Counter
    ratelimit_storage_errors: Counter
    pruned: Counter


_local = CollectorRegistry(auto_describe=True)


@functools.cache
def _instruments() -> Instruments:
    # Created on first use, in the worker: the value class (in memory or in the multiprocess
    # files) is chosen when a metric is constructed, after `prepare_multiprocess` ran.
    registry = None if _multiproc_dir else _local
    return Instruments(
        ingest_accepted=Counter("onset_ingest_accepted", "Records stored by ingest.", ["kind"], registry=registry),
        ingest_rejected=Counter("onset_ingest_rejected", "Records refused by ingest, by reason.",
                                ["kind", "reason"], registry=registry),
        ingest_requests=Counter("onset_ingest_requests", "Ingest requests by outcome (ok, or the error code).",
                                ["kind", "outcome"], registry=registry),
        ingest_duration=Histogram("onset_ingest_duration_seconds", "Time to answer an ingest request.",
                                  ["kind"], buckets=LATENCY_BUCKETS, registry=registry),
        tick_duration=Histogram("onset_engine_tick_duration_seconds", "Time an engine tick took.",
                                buckets=TICK_BUCKETS, registry=registry),
        ticks=Counter("onset_engine_ticks", "Engine ticks, committed or discarded (lease lost).",
                      ["committed"], registry=registry),
        notifications_sent=Counter("onset_notifications_sent", "Notifications delivered.", ["channel"],
                                   registry=registry),
        notifications_failed=Counter("onset_notifications_failed", "Notification attempts that failed, by"
                                     " whether the delivery will be retried or has failed for good.",
                                     ["channel", "reason", "final"], registry=registry),
        rate_limited=Counter("onset_ratelimited_requests", "Requests refused over a rate limit.", ["scope"],
                             registry=registry),
        ratelimit_storage_errors=Counter("onset_ratelimit_storage_errors", "Rate-limit checks that could not"
                                         " reach the storage (the request was let through).", registry=registry),
        pruned=Counter("onset_retention_pruned_rows", "Rows the retention janitor deleted.", ["table"],
                       registry=registry),
    )


# -- what the code calls ---------------------------------------------------------------------
def ingested(kind: str, accepted: int, rejected: int = 0, reason: str = "invalid") -> None:
    """Records of one ingest request: `kind` is events, signals, deploys, alerts, spans or heartbeats."""
    m = _instruments()
    if accepted:
        m.ingest_accepted.labels(kind).inc(accepted)
    if rejected:
        m.ingest_rejected.labels(kind, reason).inc(rejected)


def ingest_request(kind: str, outcome: str, seconds: float) -> None:
    m = _instruments()
    m.ingest_requests.labels(kind, outcome).inc()
    m.ingest_duration.labels(kind).observe(seconds)


def engine_tick(duration_ms: float, committed: bool) -> None:
    m = _instruments()
    m.tick_duration.observe(duration_ms / 1000)
    m.ticks.labels("true" if committed else "false").inc()


def notification_sent(channel: str) -> None:
    _instruments().notifications_sent.labels(channel).inc()


def notification_failed(channel: str, reason: str, final: bool) -> None:
    _instruments().notifications_failed.labels(channel, reason, "true" if final else "false").inc()


def rate_limited(scope: str) -> None:
    _instruments().rate_limited.labels(scope).inc()


def ratelimit_storage_error() -> None:
    _instruments().ratelimit_storage_errors.inc()


def pruned(table: str, rows: int) -> None:
    if rows:
        _instruments().pruned.labels(table).inc(rows)


# -- multiprocess mode (onset serve) ---------------------------------------------------------
def prepare_multiprocess(data_dir: str) -> str:
    """Point prometheus_client at a fresh directory of this server under `data_dir`, before
    workers fork; removes the directories of servers that are gone. Returns the directory."""
    global _multiproc_dir
    root = Path(data_dir) / "metrics"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.iterdir():
        if old.is_dir() and not _alive(old.name):
            shutil.rmtree(old, ignore_errors=True)
    path = root / str(os.getpid())
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir()
    os.environ[MULTIPROC_ENV] = str(path)  # read by prometheus_client in every worker
    values.ValueClass = values.get_value_class()
    _instruments.cache_clear()
    _multiproc_dir = str(path)
    return str(path)


def _alive(name: str) -> bool:
    if not name.isdigit():
        return False
    try:
        os.kill(int(name), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def worker_exited(pid: int) -> None:
    """gunicorn's child_exit hook: drop the dead worker's live gauges (its counters still count)."""
    if _multiproc_dir:
        prometheus_multiprocess.mark_process_dead(pid, _multiproc_dir)


# -- the exposition --------------------------------------------------------------------------
class _Forward(Collector):
    def __init__(self, registry: CollectorRegistry):
        self.registry = registry

    def collect(self) -> Iterator:
        yield from self.registry.collect()


def exposition(*collectors: Collector) -> bytes:
    """The Prometheus text format of every metric (summed over workers in multiprocess mode)
    and of `collectors`, which are read at scrape time."""
    registry = CollectorRegistry(auto_describe=False)
    if _multiproc_dir:
        prometheus_multiprocess.MultiProcessCollector(registry, path=_multiproc_dir)
    else:
        _instruments()  # so that a first scrape lists the families, at zero
        registry.register(_Forward(_local))
    for collector in collectors:
        registry.register(collector)
    return generate_latest(registry)
