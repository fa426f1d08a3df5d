"""Retention: prune raw events (and their counters), signals and resolved incidents once they
are older than ONSET_EVENT_RETENTION, ONSET_SIGNAL_RETENTION and ONSET_INCIDENT_RETENTION.

The engine leader runs the janitor from its loop every ONSET_RETENTION_INTERVAL_SECONDS
(not every tick: there is nothing to gain from pruning more often). Every delete is a batch
of at most BATCH rows in its own short transaction, so ingest waits at most one batch for
the write lock; a run stops after MAX_BATCHES per table or when its time budget is spent
(well inside the engine lease, which the tick after it renews), and the next run goes on.
Active and recovering incidents are never pruned. A retention of 0 keeps that record forever.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from server import metrics
from server.config import Settings
from server.store import retention

log = logging.getLogger("onset.janitor")

BATCH = 5000
INCIDENT_BATCH = 200  # an incident takes its evidence snapshots, transitions and links along
MAX_BATCHES = 100  # per table and run
MAX_RUN_SECONDS = 5.0


@dataclass(frozen=True)
class Cutoffs:
    """Everything before these times is past retention; None keeps that record forever."""

    events: float | None
    signals: float | None
    incidents: float | None


def cutoffs(settings: Settings, now: float) -> Cutoffs:
    def before(seconds: float) -> float | None:
        return now - seconds if seconds > 0 else None

    return Cutoffs(before(settings.event_retention), before(settings.signal_retention),
                   before(settings.incident_retention))


@dataclass
class PruneReport:
    deleted: dict[str, int] = field(default_factory=dict)
    unfinished: list[str] = field(default_factory=list)  # tables with rows left for the next run

    def add(self, table: str, rows: int) -> None:
        self.deleted[table] = self.deleted.get(table, 0) + rows


def time_budget(settings: Settings) -> float:
    """Seconds one run may take: a third of the lease, at most 5 s."""
    return min(MAX_RUN_SECONDS, settings.lease_seconds / 3)


def _drain(report: PruneReport, table: str, one_batch: Callable[[], retention.Batch], deadline: float) -> None:
    for _ in range(MAX_BATCHES):
        if time.monotonic() >= deadline:
            break
        batch = one_batch()
        report.add(table, batch.deleted)
        if not batch.more:
            return
    report.unfinished.append(table)


def prune(settings: Settings, now: float, budget: float | None = None) -> PruneReport:
    """Delete what is past retention at `now`, in bounded batches, for at most `budget` seconds
    (default `time_budget`); what was deleted, per table."""
    report = PruneReport()
    deadline = time.monotonic() + (time_budget(settings) if budget is None else budget)
    cut = cutoffs(settings, now)
    if cut.events is not None:
        start: list[int | None] = [None]

        def events_batch() -> retention.Batch:
            batch, start[0] = retention.prune_events(cut.events, start[0], BATCH)
            return batch

        _drain(report, "events", events_batch, deadline)
        for table in retention.bucket_tables():
            _drain(report, table, lambda table=table: retention.prune_buckets(table, cut.events, BATCH), deadline)
    if cut.signals is not None:
        _drain(report, "signals", lambda: retention.prune_signals(cut.signals, BATCH), deadline)
    if cut.incidents is not None:
        _drain(report, "incidents", lambda: retention.prune_resolved_incidents(cut.incidents, INCIDENT_BATCH),
               deadline)
    for table, rows in report.deleted.items():
        metrics.pruned(table, rows)
    return report


class Janitor:
    """Runs `prune` at most every ONSET_RETENTION_INTERVAL_SECONDS; call `maybe_run` from the
    leader's loop. A failure is logged and retried at the next interval, never raised."""

    def __init__(self, settings: Settings, clock: Callable[[], float] = time.time):
        self.settings = settings
        self.clock = clock
        self.next_run_at: float | None = None  # the first run waits one interval after start

    def maybe_run(self, now: float | None = None) -> PruneReport | None:
        now = self.clock() if now is None else now
        if self.next_run_at is None:
            self.next_run_at = now + self.settings.retention_interval_seconds
            return None
        if now < self.next_run_at:
            return None
        self.next_run_at = now + self.settings.retention_interval_seconds
        started = time.monotonic()
        try:
            report = prune(self.settings, now)
        except Exception:
            log.exception("retention janitor failed; retrying in %gs", self.settings.retention_interval_seconds)
            return None
        if any(report.deleted.values()):
            log.info("retention pruned %s in %.2fs%s",
                     ", ".join(f"{n} {t}" for t, n in sorted(report.deleted.items()) if n),
                     time.monotonic() - started,
                     f"; more left in {', '.join(report.unfinished)}" if report.unfinished else "")
        return report
