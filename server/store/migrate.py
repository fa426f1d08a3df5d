"""Numbered migrations from `migrations/`, each applied in one transaction.

A migration module is `NNNN_name.py` with `up(ddl)`; `ddl` runs statements written
with the type words below, translated per dialect. Applied versions are recorded in
`schema_migrations`.
"""

from __future__ import annotations

import importlib.util
import re
import time
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from server.store import db as store

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.py$")

# Portable type words used in migration DDL.
_TYPES = {
    "sqlite": {"{pk}": "INTEGER PRIMARY KEY", "{float}": "REAL", "{bigint}": "INTEGER"},
    "postgres": {"{pk}": "BIGSERIAL PRIMARY KEY", "{float}": "DOUBLE PRECISION", "{bigint}": "BIGINT"},
}


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    path: Path


@dataclass(frozen=True)
class MigrationStatus:
    version: int
    name: str
    applied_at: float | None


class Ddl:
    """Runs migration statements with portable type words."""

    def __init__(self) -> None:
        self.dialect = "postgres" if store.is_postgres() else "sqlite"

    def __call__(self, statement: str) -> None:
        for word, concrete in _TYPES[self.dialect].items():
            statement = statement.replace(word, concrete)
        store.db.execute_sql(statement)


def discover(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    found = []
    for path in sorted(directory.glob("*.py")):
        match = _NAME.match(path.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), path))
    versions = [m.version for m in found]
    if len(versions) != len(set(versions)):
        raise RuntimeError(f"two migrations share a number in {directory}")
    return found


def _load(migration: Migration) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"onset_migration_{migration.version}", migration.path)
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    spec.loader.exec_module(module)
    return module


def _ensure_table() -> None:
    store.db.execute_sql(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at "
        + ("DOUBLE PRECISION" if store.is_postgres() else "REAL") + " NOT NULL)"
    )


def _applied() -> dict[int, float]:
    return {v: at for v, at in store.fetchall("SELECT version, applied_at FROM schema_migrations")}


def status(directory: Path = MIGRATIONS_DIR) -> list[MigrationStatus]:
    """Every known migration with when it was applied (None: pending). Writes nothing."""
    applied = _applied() if store.db.table_exists("schema_migrations") else {}
    return [MigrationStatus(m.version, m.name, applied.get(m.version)) for m in discover(directory)]


def migrate(directory: Path = MIGRATIONS_DIR) -> list[Migration]:
    """Apply every pending migration in order; returns the ones applied now."""
    _ensure_table()
    done = []
    for migration in discover(directory):
        with store.db.atomic():
            if store.is_postgres():
                # Several hosts may start at once: one migrates, the others wait here.
                store.db.execute_sql("SELECT pg_advisory_xact_lock(727001)")
            if store.fetchone("SELECT 1 FROM schema_migrations WHERE version = ?", (migration.version,)):
                continue
            _load(migration).up(Ddl())
            store.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (migration.version, migration.name, time.time()),
            )
        done.append(migration)
    return done
