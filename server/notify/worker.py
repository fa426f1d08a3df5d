"""The delivery worker: sends due outbox rows, records every attempt, schedules retries.

It runs in its own thread beside the engine (never in the tick: a slow receiver must not
delay detection) and delivers only while its engine holds the lease. Only this thread
touches the database; sends run on a small pool of threads that do HTTP and nothing else,
at most PER_CHANNEL at a time per channel, so a hanging channel cannot take the pool from
the others. Each row is claimed (committed) before its first byte is sent; see
`store.notifications` for the protocol and docs/notifications.md for the guarantees.
"""

from __future__ import annotations

import dataclasses
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

import orjson

from server import metrics
from server.config import Settings
from server.notify import channels
from server.notify.content import message_for
from server.notify.model import Delivery, HttpRequest, SendResult
from server.notify.retry import DONE, Backoff, next_attempt_at
from server.notify.send import send
from server.store import db as store
from server.store import notifications
from server.store.notifications import Attempt

log = logging.getLogger("onset.notify")

POOL_SIZE = 16
PER_CHANNEL = 2
CLAIM_MARGIN_SECONDS = 5.0
BATCH = 50
STARTED, UNSENDABLE = "started", "unsendable"

Sender = Callable[[HttpRequest, float], SendResult]


class DeliveryWorker:
    def __init__(self, settings: Settings, holder: str, is_leader: Callable[[], bool] = lambda: True,
                 clock: Callable[[], float] = time.time, sender: Sender = send, rng: random.Random | None = None):
        self.settings = settings
        self.holder = holder
        self.is_leader = is_leader
        self.clock = clock
        self.sender = sender
        self.rng = rng or random.Random()
        self.backoff = Backoff(settings.notify_backoff_seconds, settings.notify_max_backoff_seconds,
                               settings.notify_give_up_seconds)
        self.pool = ThreadPoolExecutor(POOL_SIZE, thread_name_prefix="onset-notify-send")
        self.inflight: dict[Future, tuple[Delivery, float]] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- one pass -----------------------------------------------------------------------------
    def pump(self) -> int:
        """Record finished attempts, then claim and start what is due. Returns how many
        attempts were started."""
        self._collect()
        if not self.is_leader():
            return 0
        now = self.clock()
        busy = {d.id for d, _ in self.inflight.values()}
        per_channel: dict[str, int] = {}
        for d, _ in self.inflight.values():
            per_channel[d.channel.id] = per_channel.get(d.channel.id, 0) + 1
        started = 0
        for _ in range(BATCH):
            # A row failed without sending lets the next row of its line go in this same pass.
            unsendable = 0
            for delivery in notifications.due_heads(now, BATCH):
                if delivery.id in busy or per_channel.get(delivery.channel.id, 0) >= PER_CHANNEL:
                    continue
                outcome = self._start(delivery, now)
                if outcome == STARTED:
                    busy.add(delivery.id)
                    per_channel[delivery.channel.id] = per_channel.get(delivery.channel.id, 0) + 1
                    started += 1
                elif outcome == UNSENDABLE:
                    unsendable += 1
                    metrics.notification_failed(delivery.channel.type, "unsendable", final=True)
            if not unsendable:
                break
        return started

    def _start(self, delivery: Delivery, now: float) -> str:
        if delivery.channel.removed_at is not None:
            notifications.fail_unsendable(delivery, "channel removed", now)
            return UNSENDABLE
        payload = delivery.payload
        if payload is None:
            try:
                payload = self._payload(delivery, now)
            except Exception as exc:  # a rendering bug must show on the row, not stop the worker
                log.exception("building notification %s failed", delivery.dedupe_key)
                notifications.fail_unsendable(delivery, f"could not build the message ({type(exc).__name__})", now)
                return UNSENDABLE
            if payload is None:
                notifications.fail_unsendable(delivery, f"{delivery.subject_kind} {delivery.subject_id} no longer"
                                                        " exists", now)
                return UNSENDABLE
        claim_until = now + self.settings.notify_timeout_seconds + CLAIM_MARGIN_SECONDS
        if not notifications.claim(delivery, self.holder, now, claim_until, payload):
            return "taken"
        stored = orjson.loads(payload)
        request = HttpRequest(delivery.channel.url, stored["body"].encode(), stored["headers"])
        future = self.pool.submit(self.sender, request, self.settings.notify_timeout_seconds)
        future.add_done_callback(lambda _: self._wake.set())
        attempts = delivery.attempts + (1 if delivery.state == "sending" else 0)  # a reclaim counted one
        self.inflight[future] = (_with_attempts(delivery, attempts), now)
        return STARTED

    def _payload(self, delivery: Delivery, now: float) -> str | None:
        message = message_for(delivery, now)
        if message is None:
            return None
        request = channels.build_request(delivery.channel, message)
        return orjson.dumps({"headers": request.headers, "body": request.body.decode()}).decode()

    def _collect(self) -> None:
        for future in [f for f in self.inflight if f.done()]:
            delivery, started_at = self.inflight.pop(future)
            try:
                result = future.result()
            except Exception as exc:  # the sender never raises; if it does, the attempt failed
                result = SendResult(None, error=f"{type(exc).__name__}: {exc}")
            self._record(delivery, started_at, result)

    def _record(self, delivery: Delivery, started_at: float, result: SendResult) -> None:
        outcome = channels.retrier(delivery.channel.type).check(result)
        number = delivery.attempts + 1
        now = self.clock()
        next_at, reason = next_attempt_at(outcome, number, delivery.created_at, now, self.backoff, self.rng)
        attempt = Attempt(number, started_at, round(result.duration_ms, 3), result.status,
                          None if outcome.action == DONE else outcome.detail, outcome.action, outcome.reason,
                          outcome.retry_after)
        kept = notifications.record_attempt(delivery.id, self.holder, attempt, next_at, reason, now)
        if outcome.action == DONE:
            metrics.notification_sent(delivery.channel.type)
        else:
            metrics.notification_failed(delivery.channel.type, outcome.reason, final=next_at is None)
        level = logging.INFO if outcome.action == DONE else logging.WARNING
        log.log(level, "notification %s attempt %d: %s (%s)%s", delivery.dedupe_key, number, outcome.action,
                outcome.reason, "" if kept else "; the claim had passed to another worker")

    # -- thread -------------------------------------------------------------------------------
    def wake(self) -> None:
        self._wake.set()

    def run_forever(self) -> None:
        while not self._stop.is_set():
            started = 0
            try:
                started = self.pump()
                pause = self._sleep(started)
            except Exception:
                log.exception("notification delivery pass failed")
                store.close_database()
                pause = self.settings.notify_poll_seconds
            self._wake.wait(pause)
            self._wake.clear()
        self._shutdown()

    def _sleep(self, started: int) -> float:
        # Until the next row falls due, at most a poll interval; a tick or a finished send
        # wakes the worker earlier (so with sends in flight and nothing new started, wait).
        poll = self.settings.notify_poll_seconds
        if not self.is_leader() or (self.inflight and not started):
            return poll
        due = notifications.next_due_at()
        return poll if due is None else min(poll, max(0.01, due - self.clock()))

    def _shutdown(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)
        try:
            self._collect()  # what finished is recorded; rows still being sent are re-claimed after expiry
        except Exception:
            log.exception("recording the last notification attempts failed")
        finally:
            store.close_database()

    def start(self) -> threading.Thread:
        self._thread = threading.Thread(target=self.run_forever, name="onset-notify", daemon=True)
        self._thread.start()
        return self._thread

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def drain(self, timeout: float = 30.0, until: Callable[[], bool] | None = None) -> None:
        """Pump in this thread until nothing is in flight and nothing is due (or `until()`
        holds); for tests and `onset` commands that deliver once."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            started = self.pump()
            if until is not None and until():
                return
            if not started and not self.inflight and until is None:
                due = notifications.next_due_at()
                if due is None or due > self.clock() + (deadline - time.monotonic()):
                    return
            self._wake.wait(0.02)
            self._wake.clear()
        raise TimeoutError("notifications still due after the drain timeout")


def _with_attempts(delivery: Delivery, attempts: int) -> Delivery:
    return dataclasses.replace(delivery, state="sending", attempts=attempts)
