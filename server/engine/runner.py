"""The engine loop: hold the lease, replay missed ticks, tick every interval.

Runs in its own thread (one per gunicorn worker, or `onset engine` alone); only the lease
holder ticks, so several workers or hosts never double-open an incident.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Callable

from server import metrics
from server.config import Settings
from server.engine.tick import Engine
from server.incidentlog.weekly import WeeklyDigests
from server.janitor import Janitor
from server.notify.worker import DeliveryWorker
from server.store import db as store
from server.store import lease

log = logging.getLogger("onset.engine")

MAX_REPLAY_TICKS = 120


def new_holder_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class EngineRunner:
    def __init__(self, settings: Settings, holder: str | None = None,
                 clock: Callable[[], float] = time.time):
        self.settings = settings
        self.holder = holder or new_holder_id()
        self.clock = clock
        self.engine = Engine(settings, self.holder)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._leading = False
        self._advisory = False
        self.janitor = Janitor(settings, clock)  # retention, from the leader's loop at its own cadence
        self.digests = WeeklyDigests(settings)  # ONSET_DIGEST_WEEKLY: each finished week's digest, once
        # Notifications go out from their own thread, and only while this engine leads.
        self.delivery = DeliveryWorker(settings, self.holder, lambda: self._leading) \
            if settings.notify_enabled else None

    # -- leadership ------------------------------------------------------------------------
    def _acquire(self, now: float) -> bool:
        if store.is_postgres() and not self._advisory:
            self._advisory = lease.try_advisory_lock()
            if not self._advisory:
                return False
        return lease.try_acquire(self.holder, now, self.settings.lease_seconds)

    def step(self) -> None:
        """One iteration: take or keep the lease, replay what was missed, tick."""
        now = self.clock()
        previous = lease.state()
        if not self._acquire(now):
            if self._leading:
                log.warning("engine %s is no longer the leader", self.holder)
            self._leading = False
            return
        self.engine.sentinel.engine_resumed(previous.last_tick_at, now, self.holder)  # sentinel_stale after a gap
        if not self._leading:
            log.info("engine %s leads", self.holder)
            self._leading = True
            self._replay(previous.last_tick_at, now)
        result = self.engine.tick(now)
        metrics.engine_tick(result.duration_ms, result.committed)
        if result.committed:
            self.janitor.maybe_run(now)
            self.digests.maybe_run(now)
        if self.delivery is not None:
            self.delivery.wake()

    def _replay(self, last_tick_at: float | None, now: float) -> None:
        # Replaying the stored hot window at past times rebuilds the state a live engine would
        # have reached, with the same incident ids (they derive from family and onset only).
        tick = self.settings.tick_seconds
        if last_tick_at is None or now - last_tick_at <= 2 * tick:
            return
        start = max(last_tick_at, now - 4 * self.settings.window_seconds)
        times = []
        t = start + tick
        while t < now and len(times) < MAX_REPLAY_TICKS:
            times.append(t)
            t += tick
        for at in times:
            self.engine.tick(at)
        if times:
            log.info("engine replayed %d missed ticks", len(times))

    # -- thread ----------------------------------------------------------------------------
    def run_forever(self) -> None:
        if self.delivery is not None:
            self.delivery.start()
        interval = self.settings.tick_seconds
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                self.step()
            except Exception:
                log.exception("engine tick failed")
                # A broken connection also drops a PostgreSQL advisory lock: start over.
                store.close_database()
                self._advisory = False
            self._stop.wait(max(0.0, interval - (time.monotonic() - started)))
        self._shutdown()

    def _shutdown(self) -> None:
        if self.delivery is not None:
            self.delivery.stop()
        try:
            if self._leading:
                lease.release(self.holder)
            if self._advisory:
                lease.advisory_unlock()
        except Exception:
            log.exception("releasing the engine lease failed")
        finally:
            store.close_database()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, name="onset-engine", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
