"""Crash safety: a scripted load is sent to two servers at once, a clean one and one that is
SIGKILLed (the whole process group) at least five times and restarted. Afterwards every event
of a batch the crashing server acknowledged is stored there exactly once (counted by the id
each event carries in attributes.eid), and both servers opened the same incidents: same ids,
families and onsets for the scripted bursts.

A batch the crashing server did not acknowledge (the kill came first) may or may not be
stored: the client counts nothing of it and sends its content again with fresh ids, as a
real client retrying would. The crashing server runs on SQLite and on PostgreSQL; the clean
one always on SQLite.
"""

from __future__ import annotations

import collections
import itertools
import threading
import time
import uuid
from dataclasses import dataclass, field

import orjson
import pytest
import requests

from server.store import db as store
from server.store.db import close_database, open_database
from tests.support.live import LiveServer

pytestmark = pytest.mark.slow

SCRIPT_SECONDS = 20.0
STEP_SECONDS = 0.1
KILLS = 6
# Windows longer than a restart, so that a burst resent after one still lands in the window
# it was meant for; the sentinel is off (a replay over a backlog still in flight would look
# like a traffic drop: a real finding, but not what this test compares).
ENV = {"ONSET_WINDOW_SECONDS": "10", "ONSET_TICK_SECONDS": "0.5", "ONSET_RESOLVE_AFTER_SECONDS": "5",
       "ONSET_LEASE_SECONDS": "2", "ONSET_SENTINEL_ENABLED": "false", "ONSET_NOTIFY_ENABLED": "false"}
BURSTS = {4.0: ("checkout", "POST /checkout", "E500"), 12.0: ("payment", "POST /charge", "PMT_502")}


@dataclass(frozen=True)
class Batch:
    """One scripted batch: when to send it, and its events without their ids."""

    at: float
    events: tuple[dict, ...]


def script(start: float) -> list[Batch]:
    batches = []
    for n in range(int(SCRIPT_SECONDS / STEP_SECONDS)):
        offset = n * STEP_SECONDS
        ts = start + offset
        healthy = tuple({"ts": ts, "service": service, "step": step, "duration_ms": 10.0}
                        for service, step, _ in BURSTS.values() for _ in range(50))
        batches.append(Batch(ts, healthy))
        if any(abs(offset - at) < STEP_SECONDS / 2 for at in BURSTS):
            service, step, code = BURSTS[min(BURSTS, key=lambda at: abs(offset - at))]
            # A burst is one batch: stored whole or not at all, so its first error is the onset.
            batches.append(Batch(ts, tuple(
                {"ts": ts + i * 0.01, "service": service, "step": step, "status": "error", "error_code": code,
                 "trace_id": f"{service}-burst-{i}", "span_id": f"s{i}"} for i in range(30))))
    return batches


@dataclass
class Sender:
    """Sends the script to one server on schedule; an unacknowledged batch is resent with new ids."""

    server: LiveServer
    batches: list[Batch]
    acked: list[str] = field(default_factory=list)
    unacked_attempts: int = 0
    acked_batches: int = 0
    done: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        session = requests.Session()
        for batch in self.batches:
            while time.time() < batch.at:
                time.sleep(0.005)
            while True:
                ids = [uuid.uuid4().hex for _ in batch.events]
                body = [{**e, "attributes": {"eid": eid}} for e, eid in zip(batch.events, ids, strict=True)]
                try:
                    response = session.post(self.server.url + "/v1/events", data=orjson.dumps(body), timeout=5,
                                            headers={**self.server.headers(), "Content-Type": "application/json"})
                    if response.status_code == 200 and response.json()["accepted"] == len(ids):
                        self.acked += ids
                        self.acked_batches += 1
                        break
                except requests.RequestException:
                    session = requests.Session()
                self.unacked_attempts += 1
                time.sleep(0.05)
        self.done.set()


def stored_ids(database_url: str) -> collections.Counter:
    open_database(database_url, synchronous="NORMAL")
    try:
        rows = store.fetchall("SELECT attributes FROM events WHERE attributes IS NOT NULL")
        return collections.Counter(orjson.loads(r[0])["eid"] for r in rows)
    finally:
        close_database()


def incidents(server: LiveServer) -> list[tuple]:
    rows = server.get("/v1/incidents", state="all").json()["incidents"]
    return sorted((i["id"], i["family"]["service"], i["family"]["step"], i["family"]["error_code"], i["onset"],
                   i["cause"]) for i in rows)


def test_acknowledged_events_survive_kill_9_exactly_once_and_incidents_match_a_clean_run(db_url, tmp_path):
    crash_url = db_url if db_url.startswith("postgresql") else None
    clean = LiveServer(tmp_path / "clean", env=ENV).start()
    crashing = LiveServer(tmp_path / "crashing", crash_url, env=ENV).start()
    try:
        start = time.time() + 1.0
        batches = script(start)
        senders = [Sender(clean, batches), Sender(crashing, batches)]
        threads = [threading.Thread(target=s.run, daemon=True) for s in senders]
        for t in threads:
            t.start()
        kills = 0
        for at in itertools.islice(itertools.count(2.0, (SCRIPT_SECONDS - 3) / KILLS), KILLS):
            while time.time() < start + at:
                time.sleep(0.01)
            crashing.kill()
            kills += 1
            crashing.start(wait_ready=False)
        crashing.wait(lambda r: r.status_code == 200, "/readyz", 30)
        for t in threads:
            t.join(60)
        assert all(s.done.is_set() for s in senders)

        crash_incidents = clean_incidents = None
        deadline = time.time() + 30
        while time.time() < deadline:
            clean_incidents, crash_incidents = incidents(clean), incidents(crashing)
            if len(clean_incidents) == len(BURSTS) and clean_incidents == crash_incidents:
                break
            time.sleep(0.5)
    finally:
        clean.stop()
        crashing.stop()

    stored = stored_ids(crash_url or f"sqlite:///{tmp_path / 'crashing' / 'onset.db'}")
    sender = senders[1]
    lost = [eid for eid in sender.acked if stored[eid] == 0]
    duplicated = [eid for eid, n in stored.items() if n > 1]
    unacked_stored = sum(stored.values()) - sum(1 for eid in sender.acked if stored[eid])
    print(f"\ncrash safety ({'PostgreSQL' if crash_url else 'SQLite'}): {kills} kills, {sender.acked_batches}"
          f" batches acked, {len(sender.acked)} events acked, {sum(stored.values())} stored, {len(lost)} acked"
          f" lost, {len(duplicated)} duplicates, {sender.unacked_attempts} unacknowledged attempts"
          f" ({unacked_stored} of their events stored anyway); incidents: {len(crash_incidents or [])} vs"
          f" {len(clean_incidents or [])} in the clean run")
    assert kills >= 5
    assert lost == [] and duplicated == []
    assert len(sender.acked) == sum(len(b.events) for b in batches)  # every batch got through in the end
    assert sorted(i[1:4] for i in clean_incidents) == sorted(BURSTS.values())
    assert crash_incidents == clean_incidents
