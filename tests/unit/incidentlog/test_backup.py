"""incidentlog/backup.py on plain files: checks of a backup, and restore refusing a live database."""

from __future__ import annotations

import sqlite3
import time

import pytest

from server.incidentlog.backup import BackupError, backup_sqlite, check_database, restore_sqlite, sqlite_path


def onset_database(path, *, lease_until: float | None = None) -> None:
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT, applied_at REAL);
        CREATE TABLE events (id INTEGER PRIMARY KEY, trace_id TEXT);
        CREATE TABLE incidents (id TEXT PRIMARY KEY);
        CREATE TABLE engine_lease (name TEXT PRIMARY KEY, holder TEXT, expires_at REAL);
        INSERT INTO schema_migrations VALUES (1, 'initial', 0);
        INSERT INTO events (trace_id) VALUES ('t1'), ('t2');
    """)
    conn.execute("INSERT INTO engine_lease VALUES ('engine', ?, ?)",
                 ("host:1:abc" if lease_until else None, lease_until))
    conn.commit()
    conn.close()


def test_a_backup_is_a_checked_copy(tmp_path):
    onset_database(tmp_path / "onset.db")
    info = backup_sqlite(tmp_path / "onset.db", tmp_path / "copy.db")
    assert (info.events, info.migrations) == (2, 1)
    assert check_database(tmp_path / "copy.db").events == 2
    with pytest.raises(BackupError, match="exists"):
        backup_sqlite(tmp_path / "onset.db", tmp_path / "copy.db")


def test_a_restore_refuses_a_database_whose_engine_holds_the_lease(tmp_path):
    onset_database(tmp_path / "live.db", lease_until=time.time() + 30)
    onset_database(tmp_path / "backup.db")
    with pytest.raises(BackupError, match="holds its lease"):
        restore_sqlite(tmp_path / "backup.db", tmp_path / "live.db", time.time())


def test_a_restore_replaces_a_stopped_database(tmp_path):
    onset_database(tmp_path / "stopped.db", lease_until=time.time() - 60)  # the lease ran out
    onset_database(tmp_path / "backup.db")
    sqlite3.connect(tmp_path / "backup.db").execute("INSERT INTO events (trace_id) VALUES ('t3')").connection.commit()
    restore_sqlite(tmp_path / "backup.db", tmp_path / "stopped.db", time.time())
    assert check_database(tmp_path / "stopped.db").events == 3


def test_what_is_not_an_onset_database_is_refused(tmp_path):
    sqlite3.connect(tmp_path / "other.db").execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(BackupError, match="not an Onset one"):
        check_database(tmp_path / "other.db")
    (tmp_path / "text.db").write_text("hello")
    with pytest.raises(BackupError, match="not a readable SQLite database"):
        check_database(tmp_path / "text.db")


def test_postgresql_is_pointed_to_pg_dump():
    with pytest.raises(BackupError, match="pg_dump"):
        sqlite_path("postgresql://onset@db/onset")
