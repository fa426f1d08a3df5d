"""`onset backup` while ingest runs on a real `onset serve`: the copy opens as a valid database
holding every event acknowledged before the backup started; `onset restore` refuses to replace
the live database, and restores once the server is stopped."""

from __future__ import annotations

import sqlite3
import subprocess
import threading
import time

import pytest

from tests.support.live import ONSET, LiveServer

pytestmark = pytest.mark.slow


def onset(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ONSET, *args], env={**server.env, "NO_COLOR": "1"}, capture_output=True, text=True,
                          timeout=60)


class Ingest:
    """Batches of 50 events, each with its own trace id, as fast as the server takes them; records
    the trace ids of every batch the server acknowledged, and when."""

    def __init__(self, server: LiveServer):
        self.server, self.stop, self.batches = server, threading.Event(), 0
        self.acked: list[tuple[float, list[str]]] = []
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self.stop.is_set():
            ids = [f"b{self.batches}x{i}" for i in range(50)]
            events = [{"service": "checkout", "step": "POST /checkout", "trace_id": t, "ts": time.time()} for t in ids]
            response = self.server.post("/v1/events", events)
            if response.status_code == 200:
                self.acked.append((time.time(), ids))
            self.batches += 1

    def acknowledged_before(self, moment: float) -> set[str]:
        return {t for at, ids in list(self.acked) if at < moment for t in ids}


def test_a_backup_taken_while_ingest_runs_holds_every_event_acknowledged_before_it(tmp_path):
    server = LiveServer(tmp_path / "data").start()
    ingest = Ingest(server)
    try:
        ingest.thread.start()
        time.sleep(1.5)
        started = time.time()
        done = onset(server, "backup", str(tmp_path / "backup.db"))
        time.sleep(0.5)  # ingest goes on during and after the backup
        assert done.returncode == 0, done.stderr
        assert "backed up to" in done.stdout
        before = ingest.acknowledged_before(started)
        assert len(before) >= 500
        copy = sqlite3.connect(f"file:{tmp_path / 'backup.db'}?mode=ro", uri=True)
        assert copy.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        stored = {row[0] for row in copy.execute("SELECT trace_id FROM events")}
        copy.close()
        assert before <= stored
        assert ingest.batches > len(before) // 50  # ingest really ran during the backup

        refused = onset(server, "restore", str(tmp_path / "backup.db"))
        assert refused.returncode == 1 and "stop" in refused.stderr
    finally:
        ingest.stop.set()
        ingest.thread.join(10)
        server.stop()

    restored = onset(server, "restore", str(tmp_path / "backup.db"))
    assert restored.returncode == 0, restored.stderr
    database = sqlite3.connect(f"file:{tmp_path / 'data' / 'onset.db'}?mode=ro", uri=True)
    assert before <= {row[0] for row in database.execute("SELECT trace_id FROM events")}
    database.close()
    server = LiveServer(tmp_path / "data").start()  # the restored database serves
    server.stop()


def test_backup_refuses_to_overwrite_and_postgresql_points_to_pg_dump(tmp_path):
    server = LiveServer(tmp_path / "data")  # never started: the commands act on the local database
    env_pg = {**server.env, "ONSET_DATABASE_URL": "postgresql://postgres@127.0.0.1:1/none"}
    pg = subprocess.run([ONSET, "backup", str(tmp_path / "x.db")], env=env_pg, capture_output=True, text=True,
                        timeout=60)
    assert pg.returncode == 1 and "pg_dump" in pg.stderr
    subprocess.run([ONSET, "migrate"], env=server.env, check=True, capture_output=True, timeout=60)
    (tmp_path / "taken.db").write_text("keep me")
    again = onset(server, "backup", str(tmp_path / "taken.db"))
    assert again.returncode == 1 and "exists" in again.stderr
    assert (tmp_path / "taken.db").read_text() == "keep me"
    junk = onset(server, "restore", str(tmp_path / "taken.db"))
    assert junk.returncode == 1 and "not a readable SQLite database" in junk.stderr
