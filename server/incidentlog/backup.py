"""Backups of the embedded SQLite database: `onset backup PATH` and `onset restore PATH`.

A backup uses SQLite's online backup API in one step: it reads one consistent snapshot (in WAL
mode, writers go on meanwhile), so it holds every transaction committed before it started — an
acknowledged event included — and none half-written. The copy is checked
(`PRAGMA integrity_check`) and switched to a self-contained rollback journal before it is
moved into place. A restore refuses to replace a database that is in use: an engine holds the
lease, or any process has the file open. PostgreSQL has its own tools (pg_dump, pg_restore).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

# In WAL mode every connection holds a shared lock on this byte of the -shm file (SQLite's
# "dead man switch", os_unix.c: UNIX_SHM_BASE 120 + SQLITE_SHM_NLOCK 8): an exclusive lock
# there can only be had while no process has the database open.
_SHM_DMS_OFFSET = 128
PG_HINT = ("this server uses PostgreSQL: back it up with pg_dump (e.g. pg_dump -Fc -f onset.dump \"$DATABASE_URL\")"
           " and restore with pg_restore; see docs/operations.md")


class BackupError(Exception):
    """What went wrong, said so that the operator can act."""


@dataclass(frozen=True)
class BackupInfo:
    path: str
    bytes: int
    migrations: int
    incidents: int
    events: int
    seconds: float


def sqlite_path(database_url: str) -> Path:
    if not database_url.startswith("sqlite:///"):
        raise BackupError(PG_HINT)
    return Path(database_url[len("sqlite:///"):])


def check_database(path: Path) -> BackupInfo:
    """Open `path` read-only and check it is a whole Onset database; raises BackupError."""
    if not path.is_file():
        raise BackupError(f"{path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict != "ok":
                raise BackupError(f"{path} fails SQLite's integrity check: {verdict}")
            tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not {"schema_migrations", "events", "incidents"} <= tables:
                raise BackupError(f"{path} is a SQLite database but not an Onset one (no schema_migrations)")
            counts = [conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0]
                      for t in ("schema_migrations", "incidents", "events")]
        finally:
            conn.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path} is not a readable SQLite database: {exc}") from None
    return BackupInfo(str(path), path.stat().st_size, *counts, 0.0)


def backup_sqlite(source: Path, target: Path, *, overwrite: bool = False) -> BackupInfo:
    """Copy the live database at `source` to `target` consistently; the copy is checked."""
    started = time.monotonic()
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    if target.exists() and not overwrite:
        raise BackupError(f"{target} exists; remove it or pass --force")
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.{os.getpid()}.partial")
    with contextlib.suppress(FileNotFoundError):
        draft.unlink()
    src = sqlite3.connect(str(source), timeout=30)
    try:
        dst = sqlite3.connect(str(draft))
        try:
            # pages=-1: the whole database in one step, from one read transaction: a snapshot.
            src.backup(dst, pages=-1)
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file
            dst.commit()
        finally:
            dst.close()
    finally:
        src.close()
    try:
        info = check_database(draft)
    except BackupError:
        draft.unlink(missing_ok=True)
        raise
    with open(draft, "rb") as f:
        os.fsync(f.fileno())
    os.replace(draft, target)
    return BackupInfo(str(target), info.bytes, info.migrations, info.incidents, info.events,
                      round(time.monotonic() - started, 3))


def open_by_another_process(path: Path) -> bool:
    """Whether any process has the WAL database at `path` open (it holds the -shm lock byte)."""
    shm = path.with_name(path.name + "-shm")
    if not shm.exists():
        return False
    fd = os.open(shm, os.O_RDWR)
    try:
        fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB, 1, _SHM_DMS_OFFSET)
    except OSError:
        return True
    else:
        fcntl.lockf(fd, fcntl.LOCK_UN, 1, _SHM_DMS_OFFSET)
        return False
    finally:
        os.close(fd)


def engine_lease_holder(path: Path, now: float) -> str | None:
    """The engine that holds the lease of the database at `path` now, if any."""
    try:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT holder, expires_at FROM engine_lease WHERE name = 'engine'").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError:
        return None
    if row and row[0] and row[1] is not None and row[1] > now:
        return str(row[0])
    return None


def restore_sqlite(backup: Path, target: Path, now: float) -> BackupInfo:
    """Replace the database at `target` with `backup`, refusing while it is live."""
    info = check_database(backup)
    if target.exists():
        if open_by_another_process(target):
            raise BackupError(f"{target} is open by a running process (onset serve or onset engine): stop it first")
        holder = engine_lease_holder(target, now)
        if holder is not None:
            raise BackupError(f"{target} is live: engine {holder} holds its lease; stop the server first")
    target.parent.mkdir(parents=True, exist_ok=True)
    draft = target.with_name(f".{target.name}.{os.getpid()}.restoring")
    with open(backup, "rb") as src, open(draft, "wb") as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
        dst.flush()
        os.fsync(dst.fileno())
    for suffix in ("-wal", "-shm"):
        # Left by the old database: they would be replayed into the restored one.
        target.with_name(target.name + suffix).unlink(missing_ok=True)
    os.replace(draft, target)
    return info
