"""Getting events and signals to the server without ever slowing the app down.

The app's threads only append to a bounded in-memory queue; when it is full the new
item is dropped and counted (`queue_overflow`), never waited for. One background
thread sends batches (by size, or every `flush_interval`), gzipped, and retries with
backoff on 429, 502, 503, 504, timeouts and network errors, honouring `Retry-After`.
Anything else it gives up on is dropped and counted by reason; nothing here raises into
the app. After `fork()` (gunicorn, multiprocessing) the child starts its own thread
with an empty queue: what the parent had buffered is the parent's to send.
"""

from __future__ import annotations

import contextlib
import gzip as gzip_module
import logging
import os
import random
import threading
import time
import weakref
from collections import deque
from email.utils import parsedate_to_datetime
from typing import Any

import requests

from onset_sdk.internal import capture_internal_exception

try:  # orjson is much cheaper per event; the SDK only depends on it when it is already there
    import orjson

    def _encode(payload: Any) -> bytes:
        return orjson.dumps(payload, default=str)
except ImportError:  # pragma: no cover - exercised where orjson is absent
    import json

    def _encode(payload: Any) -> bytes:
        return json.dumps(payload, separators=(",", ":"), default=str).encode()

log = logging.getLogger("onset_sdk")

RETRYABLE = frozenset({429, 502, 503, 504})
SIGNAL_QUEUE_SIZE = 1000
USER_AGENT = "onset-sdk-python/0.1.0"

# Why an item was dropped; `stats()["dropped_by_reason"]` counts each.
QUEUE_OVERFLOW = "queue_overflow"  # the queue was full (server slow or down): dropped, never waited for
SEND_FAILED = "send_failed"        # retries exhausted (server down, timeouts, 429/503 for too long)
REJECTED = "rejected"              # the server refused it (4xx, or an item of a partly bad batch)
SERVER_ERROR = "server_error"      # the server answered 500 or another final 5xx: a server bug, not retried
SHUTDOWN = "shutdown"              # still queued when the process exited


class _FlushMarker(threading.Event):
    """Put in the event queue by flush(): set once everything queued before it is done."""


class HttpTransport:
    def __init__(self, url: str, api_key: str | None, *, queue_size: int = 10_000, batch_size: int = 500,
                 flush_interval: float = 1.0, timeout: float = 5.0, max_retries: int = 4, gzip: bool = True,
                 backoff_base: float = 0.5, backoff_cap: float = 30.0, retry_after_cap: float = 60.0):
        self.url = url.rstrip("/")
        self.headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"
        if gzip:
            self.headers["Content-Encoding"] = "gzip"
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.timeout = timeout
        self.max_retries = max_retries
        self.gzip = gzip
        self.backoff_base = backoff_base
        self.backoff_cap = backoff_cap
        self.retry_after_cap = retry_after_cap
        self._warned: set[str] = set()
        self._reset()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: (t := ref()) is not None and t._reset())

    def _reset(self) -> None:
        """Fresh state for this process: at start, and in a forked child (locks may be held there)."""
        self._pid = os.getpid()
        self._events: deque = deque()
        self._signals: deque = deque()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self._count_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._session: requests.Session | None = None
        self._dropped: dict[str, int] = {}
        self._sent = 0
        self._signals_sent = 0
        self._retries = 0

    # -- the app's side: never blocks ---------------------------------------------------------
    def add_event(self, event: dict[str, Any]) -> bool:
        """Queue one event; False when it was dropped because the queue is full."""
        if self._thread is None or self._pid != os.getpid():
            self._ensure_thread()
        events = self._events
        if len(events) >= self.queue_size:
            self._drop(QUEUE_OVERFLOW)
            return False
        events.append(event)
        if len(events) >= self.batch_size and not self._wake.is_set():
            self._wake.set()
        return True

    def add_signal(self, payload: dict[str, Any], *, deploy: bool = False) -> bool:
        """Queue a signal (or, with deploy=True, a /v1/deploys item); sent without waiting for a batch."""
        if self._thread is None or self._pid != os.getpid():
            self._ensure_thread()
        if len(self._signals) >= SIGNAL_QUEUE_SIZE:
            self._drop(QUEUE_OVERFLOW)
            return False
        self._signals.append(("/v1/deploys" if deploy else "/v1/signals", payload))
        self._wake.set()
        return True

    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything queued so far was sent or given up on; False on timeout."""
        if self._thread is None and not self._events and not self._signals:
            return True
        if threading.current_thread() is self._thread:
            return False  # the worker cannot wait for itself
        self._ensure_thread()
        marker = _FlushMarker()
        self._events.append(marker)  # markers bypass the bound: they are not data
        self._wake.set()
        return marker.wait(timeout)

    def close(self, timeout: float = 2.0) -> None:
        """Flush for at most `timeout` seconds, then stop the worker; what is left is dropped."""
        deadline = time.monotonic() + timeout
        self.flush(timeout)
        self._stop.set()
        self._wake.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            # A short grace beyond the budget: a worker told to stop leaves its backoff at once.
            thread.join(max(0.2, deadline - time.monotonic()))
        left = sum(1 for item in self._events if type(item) is not _FlushMarker) + len(self._signals)
        if left:
            self._drop(SHUTDOWN, left)
        self._events.clear()
        self._signals.clear()

    def stats(self) -> dict[str, Any]:
        with self._count_lock:
            dropped = dict(self._dropped)
        return {
            "queued": sum(1 for item in list(self._events) if type(item) is not _FlushMarker),
            "sent": self._sent,
            "signals_sent": self._signals_sent,
            "retries": self._retries,
            "dropped": sum(dropped.values()),
            "dropped_by_reason": dropped,
        }

    def _drop(self, reason: str, n: int = 1) -> None:
        with self._count_lock:
            self._dropped[reason] = self._dropped.get(reason, 0) + n

    def _ensure_thread(self) -> None:
        if self._pid != os.getpid():
            self._reset()
        with self._start_lock:
            if self._thread is not None or self._stop.is_set():
                return
            thread = threading.Thread(target=self._run, name="onset-sdk-transport", daemon=True)
            try:
                thread.start()
            except RuntimeError:  # interpreter shutting down: nothing more can be sent
                return
            self._thread = thread

    # -- the worker's side --------------------------------------------------------------------
    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self._drain()
            except Exception as exc:
                capture_internal_exception((type(exc), exc, exc.__traceback__))
        try:
            self._drain_markers()
        except Exception as exc:
            capture_internal_exception((type(exc), exc, exc.__traceback__))

    def _drain(self) -> None:
        self._send_signals()
        events = self._events
        # Only what was queued when the worker woke: under steady load, draining until the
        # queue is empty would chase every new arrival with a tiny batch of its own.
        pending = len(events)
        while pending > 0:
            batch: list[dict[str, Any]] = []
            marker: _FlushMarker | None = None
            while pending > 0 and len(batch) < self.batch_size:
                pending -= 1
                item = events.popleft()
                if type(item) is _FlushMarker:
                    marker = item
                    break
                batch.append(item)
            if batch:
                self._deliver("/v1/events", {"events": batch}, len(batch), is_signal=False)
            if marker is not None:
                self._send_signals()  # signals queued before the flush call are part of it
                marker.set()
            if self._stop.is_set():
                return

    def _drain_markers(self) -> None:
        # Stopping: release any flush() still waiting.
        for item in list(self._events):
            if type(item) is _FlushMarker:
                item.set()

    def _send_signals(self) -> None:
        while self._signals:
            path, payload = self._signals.popleft()
            self._deliver(path, payload, 1, is_signal=True)

    def _http(self) -> requests.Session:
        if self._session is None:
            session = requests.Session()
            session._onset_internal = True  # type: ignore[attr-defined]  # the requests integration skips it
            self._session = session
        return self._session

    def _deliver(self, path: str, payload: dict[str, Any], count: int, *, is_signal: bool) -> None:
        """Send one batch, retrying what may succeed later; count what is given up on."""
        body = _encode(payload)
        if self.gzip:
            body = gzip_module.compress(body, compresslevel=1)
        url = self.url + path
        attempt = 0
        while True:
            try:
                response = self._http().post(url, data=body, headers=self.headers,
                                             timeout=(min(2.0, self.timeout), self.timeout))
            except requests.RequestException as exc:
                delay = self._backoff(attempt)
                self._warn_once(type(exc).__name__, f"onset_sdk: cannot reach {self.url}: {exc}")
            else:
                status = response.status_code
                if status < 300:
                    self._accepted(response, count, is_signal)
                    return
                if status not in RETRYABLE:
                    reason = REJECTED if status < 500 else SERVER_ERROR
                    self._warn_once(f"http_{status}", f"onset_sdk: {url} answered {status}: {response.text[:200]}")
                    self._drop(reason, count)
                    return
                delay = max(self._backoff(attempt), self._retry_after(response))
            if attempt >= self.max_retries:
                self._drop(SEND_FAILED, count)
                return
            attempt += 1
            self._retries += 1
            if self._stop.wait(delay):  # closing: give up now rather than hold up the exit
                self._drop(SEND_FAILED, count)
                return

    def _accepted(self, response: requests.Response, count: int, is_signal: bool) -> None:
        rejected = 0
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            rejected = len(response.json().get("rejected") or ())
        if rejected:
            self._drop(REJECTED, rejected)
            self._warn_once("partial", f"onset_sdk: the server rejected {rejected} item(s): {response.text[:300]}")
        if is_signal:
            self._signals_sent += count - rejected
        else:
            self._sent += count - rejected

    def _backoff(self, attempt: int) -> float:
        # Exponential with jitter, so that many processes recovering together do not stampede.
        ceiling = min(self.backoff_cap, self.backoff_base * (2 ** attempt))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def _retry_after(self, response: requests.Response) -> float:
        value = response.headers.get("Retry-After")
        if not value:
            return 0.0
        value = value.strip()
        try:
            seconds = float(value)
        except ValueError:
            try:
                seconds = parsedate_to_datetime(value).timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                return 0.0
        return min(self.retry_after_cap, max(0.0, seconds))

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            log.warning(message)
