"""A fair queue for SQLite writers, across threads and processes.

SQLite lets one writer in at a time and makes the others sleep in its busy handler
(1, 2, 5, 10 ms ... between retries): under ingest load the gunicorn workers spent about
half their time asleep while the lock was free, and the sleeps made the p99 tail. Writers
that first queue on an OS file lock (`flock`) wake as soon as the previous one commits.
Measured on 2 cores with 100-event batches: ~30k -> ~45k events/s, p99 ~60 -> ~25 ms.
"""

from __future__ import annotations

import fcntl
import os
import threading


class WriterQueue:
    """Exclusive across processes (flock on the process's own open file) and threads (a lock)."""

    def __init__(self, path: str):
        self.path = path
        self._thread_lock = threading.Lock()
        self._holder = threading.local()
        self._fd: int | None = None
        self._pid: int | None = None

    def _file(self) -> int:
        # A forked child must open its own file: flock is held per open file description.
        if self._pid != os.getpid():
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        assert self._fd is not None
        return self._fd

    def acquire(self) -> None:
        self._thread_lock.acquire()
        try:
            fcntl.flock(self._file(), fcntl.LOCK_EX)
        except BaseException:
            self._thread_lock.release()
            raise
        self._holder.held = True

    def release(self) -> None:
        """Idempotent: peewee may roll back after a failed commit."""
        if not getattr(self._holder, "held", False):
            return
        self._holder.held = False
        try:
            fcntl.flock(self._file(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()
