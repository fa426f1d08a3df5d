"""Shared fixtures: a fresh database per test on SQLite and on a real PostgreSQL.

Tests that take `db_url` (directly or through `settings`, `app`, `client`) run once per
backend. PostgreSQL comes from ONSET_TEST_DATABASE_URL; without it those runs are
skipped locally and fail in CI, where .ci/run always provides it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from urllib.parse import urlparse, urlunparse

import psycopg2
import pytest

from server.app import create_app
from server.auth import forget_cached_keys
from server.config import Settings, load_settings
from server.store import keys, migrate
from server.store.db import close_database, open_database

PG_URL = os.environ.get("ONSET_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_database_url() -> str:
    """A database of this xdist worker's own, created on first use, emptied per test."""
    admin = urlparse(PG_URL)
    name = f"onset_test_{_worker()}"
    conn = psycopg2.connect(PG_URL)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    url = urlunparse(admin._replace(path=f"/{name}"))
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("DROP SCHEMA IF EXISTS public CASCADE; CREATE SCHEMA public")
    conn.close()
    return url


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'onset.db'}"
        return
    if not PG_URL:
        if IN_CI:
            pytest.fail("ONSET_TEST_DATABASE_URL is not set in CI: PostgreSQL tests must run")
        pytest.skip("set ONSET_TEST_DATABASE_URL to run the PostgreSQL half of the suite")
    yield _pg_database_url()


def make_settings(db_url: str, data_dir: str, **overrides) -> Settings:
    values = dict(database_url=db_url, data_dir=data_dir, window_seconds=60, tick_seconds=10,
                  min_count=5, lift=3, resolve_after_seconds=300, lease_seconds=30)
    values.update(overrides)
    return load_settings({}, **values)


@pytest.fixture
def settings(db_url, tmp_path) -> Settings:
    return make_settings(db_url, str(tmp_path / "data"))


@pytest.fixture
def store(settings) -> Iterator[Settings]:
    """The database of `settings`, migrated and bound for direct store calls."""
    open_database(settings.resolved_database_url, synchronous="NORMAL")
    migrate.migrate()
    forget_cached_keys()
    yield settings
    close_database()


@pytest.fixture
def app(store):
    return create_app(store)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def make_key(store):
    def _make(*scopes: str, name: str = "test") -> str:
        key, _ = keys.create_key(name, scopes)
        return key

    return _make


@pytest.fixture
def auth(make_key):
    """Headers for a key with the given scopes: `auth("ingest")`."""

    def _auth(*scopes: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {make_key(*scopes)}"}

    return _auth
