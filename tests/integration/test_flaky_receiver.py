"""A real local HTTP receiver that is down for a while (connection refused), then answers 500,
then 429 with Retry-After, then 200: every state change arrives exactly once, in order per
incident and health alert. The engine ticks on a fake clock just behind real time; the
delivery worker runs in its own thread, on the real clock, sending real HTTP.
"""

from __future__ import annotations

import time

import pytest

from server.engine.model import Family
from server.engine.tick import Engine
from server.notify.worker import DeliveryWorker
from server.store import channels as channel_store
from server.store import notifications
from tests.conftest import make_settings
from tests.support.receiver import Receiver
from tests.support.ticking import burst, family_traffic, steady, store_events, tick_through

pytestmark = pytest.mark.slow

CHECKOUT = Family("checkout", "production", "POST /checkout", "E500")
PAYMENT = Family("payment", "production", "POST /charge", "E503")
DOWN_SECONDS = 1.5


@pytest.fixture
def settings(db_url, tmp_path):
    return make_settings(db_url, str(tmp_path / "data"), resolve_after_seconds=60, notify_backoff_seconds=0.2,
                         notify_max_backoff_seconds=1, notify_timeout_seconds=2, notify_poll_seconds=0.05)


def script(n: int, _request) -> tuple[int, dict[str, str]]:
    if n == 1:
        return 500, {}
    if n == 2:
        return 429, {"Retry-After": "1"}
    return 200, {}


def test_each_state_change_arrives_exactly_once_in_order_through_a_flaky_receiver(store):
    start = (int(time.time()) // 10) * 10 - 600  # on the bucket grid, ten minutes ago
    store_events(store, family_traffic(start - 300, start + 400, CHECKOUT, PAYMENT)
                 + burst(CHECKOUT, start) + burst(PAYMENT, start + 30)
                 + steady(start - 300, start + 100, "inventory") + steady(start + 250, start + 400, "inventory"))
    receiver = Receiver(script)
    channel = channel_store.create_channel("webhook", "flaky", receiver.url, "s3cret", (), start - 1000)
    tick_through(Engine(store, "engine-1"), start - 60, start + 400)
    queued = list(reversed(notifications.list_notifications(limit=100)))
    expected = {(r["subject_id"], r["event"]) for r in queued}
    assert len(queued) == 8  # two incidents opened, recovering, resolved; inventory silent, raised and cleared

    worker = DeliveryWorker(store, "worker-1")
    worker.start()
    try:
        time.sleep(DOWN_SECONDS)  # down: every attempt meanwhile is refused
        receiver.start()
        receiver.wait_for(lambda r: len(r.accepted) == len(queued), timeout=60)
        time.sleep(0.5)  # nothing more may arrive
    finally:
        worker.stop()
        receiver.stop()

    assert receiver.duplicates == 0 and len(receiver.accepted) == len(queued)
    assert set(receiver.events()) == expected
    for subject in {s for s, _ in expected}:
        arrived = [event for s, event in receiver.events() if s == subject]
        assert arrived in (["opened", "recovering", "resolved"], ["raised", "cleared"]), (subject, arrived)
    assert [r.status for r in receiver.requests[:2]] == [500, 429]
    limited = receiver.requests[1].dedupe_key
    again = [r.at for r in receiver.requests if r.dedupe_key == limited]
    assert again[1] - again[0] >= 1.0  # Retry-After honoured

    rows = notifications.list_notifications(channel_id=channel.id, limit=100)
    assert {r["state"] for r in rows} == {"delivered"}
    reasons = {a["reason"] for r in rows for a in r["attempt_log"]}
    assert {"connection_failed", "server_error", "rate_limited", "delivered"} <= reasons
    for r in rows:
        assert r["attempt_log"][-1]["outcome"] == "done"
        assert [a["attempt"] for a in r["attempt_log"]] == list(range(1, r["attempts"] + 1))
