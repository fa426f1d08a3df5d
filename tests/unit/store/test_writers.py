"""SQLite writers queue on a file lock: one at a time across threads and processes."""

from __future__ import annotations

import multiprocessing
import threading
import time

from server.store.writers import WriterQueue


def test_a_second_thread_waits_until_the_first_releases(tmp_path):
    queue = WriterQueue(str(tmp_path / "db-writers"))
    queue.acquire()
    entered = threading.Event()

    def second() -> None:
        queue.acquire()
        entered.set()
        queue.release()

    thread = threading.Thread(target=second)
    thread.start()
    assert not entered.wait(0.3)  # still queued behind the holder
    queue.release()
    assert entered.wait(5)
    thread.join(5)


def _hold(path: str, holding, release) -> None:
    queue = WriterQueue(path)
    queue.acquire()
    holding.set()
    release.wait(10)
    queue.release()


def test_another_process_holding_the_queue_makes_this_one_wait(tmp_path):
    path = str(tmp_path / "db-writers")
    holding, release = multiprocessing.Event(), multiprocessing.Event()
    child = multiprocessing.get_context("fork").Process(target=_hold, args=(path, holding, release))
    child.start()
    assert holding.wait(10)
    queue = WriterQueue(path)
    got = threading.Event()
    waiter = threading.Thread(target=lambda: (queue.acquire(), got.set()))
    waiter.start()
    assert not got.wait(0.3)
    release.set()
    assert got.wait(10)
    queue.release()
    waiter.join(5)
    child.join(10)


def test_release_is_idempotent_after_a_failed_commit(tmp_path):
    queue = WriterQueue(str(tmp_path / "db-writers"))
    queue.acquire()
    queue.release()
    queue.release()  # peewee rolls back after a commit that raised: must not unlock twice
    started = time.monotonic()
    queue.acquire()  # and the queue is still usable at once
    assert time.monotonic() - started < 1
    queue.release()
