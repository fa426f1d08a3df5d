"""Signals (deploys, dependency trouble, crashes, config changes) and service versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
import peewee

from server.engine.model import Change
from server.store import db as store


class Signal(peewee.Model):
    signal_id = peewee.TextField(unique=True)
    received_at = peewee.FloatField()
    ts = peewee.FloatField()
    type = peewee.TextField()
    service = peewee.TextField()
    env = peewee.TextField()
    source = peewee.TextField(null=True)
    reason = peewee.TextField(null=True)
    message = peewee.TextField(null=True)
    attributes = peewee.TextField()
    extra = peewee.TextField()

    class Meta:
        database = store.db
        table_name = "signals"


@dataclass(frozen=True)
class SignalRecord:
    signal_id: str
    received_at: float
    ts: float
    type: str
    service: str
    env: str
    source: str | None
    reason: str | None
    message: str | None
    attributes: dict[str, Any]
    extra: dict[str, Any]

    def as_dict(self) -> dict[str, Any]:
        """The API shape: unknown top-level fields the sender gave come back at top level."""
        body = dict(self.extra)
        body.update(
            signal_id=self.signal_id, received_at=self.received_at, ts=self.ts, type=self.type,
            service=self.service, env=self.env, source=self.source, reason=self.reason,
            message=self.message, attributes=self.attributes,
        )
        return body

    def as_change(self) -> Change:
        return Change(self.signal_id, self.type, self.service, self.ts, self.reason, self.message,
                      self.attributes)


_COLUMNS = "signal_id, received_at, ts, type, service, env, source, reason, message, attributes, extra"


def insert_signals(records: Sequence[SignalRecord]) -> None:
    """Insert signals. Call inside a write transaction."""
    store.executemany(
        f"INSERT INTO signals ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [(r.signal_id, r.received_at, r.ts, r.type, r.service, r.env, r.source, r.reason, r.message,
          orjson.dumps(r.attributes).decode(), orjson.dumps(r.extra).decode()) for r in records],
    )


def _record(row: tuple) -> SignalRecord:
    return SignalRecord(*row[:9], orjson.loads(row[9]), orjson.loads(row[10]))


def query_signals(*, service: str | None = None, env: str | None = None, type: str | None = None,
                  source: str | None = None, since: float | None = None, until: float | None = None,
                  limit: int = 100) -> list[SignalRecord]:
    """Signals matching every given filter, oldest first; ties broken by signal_id."""
    where, params = [], []
    for column, value in (("service", service), ("env", env), ("type", type), ("source", source)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    if since is not None:
        where.append("ts >= ?")
        params.append(since)
    if until is not None:
        where.append("ts < ?")
        params.append(until)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(
        f"SELECT {_COLUMNS} FROM signals{clause} ORDER BY ts, signal_id LIMIT ?", (*params, limit)
    )
    return [_record(r) for r in rows]


CAUSE_TYPES = ("deploy", "dependency", "runtime", "config")


def changes_near(services: Iterable[str], env: str, lo: float, hi: float, limit: int = 200) -> list[Change]:
    """Signals that can explain a failure (deploys, dependency trouble, crashes, config) of
    `services` in `env`, with ts in [lo, hi), as engine `Change`s."""
    return [r.as_change() for r in signals_about(services, env, lo, hi, CAUSE_TYPES, limit)]


def remember_version(service: str, env: str, version: str, ts: float) -> str | None:
    """Record a (service, env, version) sighting. Returns the previous version when this one
    is new for a service that had another version before, else None."""
    cursor = store.execute(
        "INSERT INTO service_versions (service, env, version, first_seen) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (service, env, version) DO NOTHING",
        (service, env, version, ts),
    )
    if cursor.rowcount != 1:
        return None
    row = store.fetchone(
        "SELECT version FROM service_versions WHERE service = ? AND env = ? AND version <> ?"
        " ORDER BY first_seen DESC LIMIT 1",
        (service, env, version),
    )
    return row[0] if row else None


def signals_about(services: Iterable[str], env: str, lo: float, hi: float, types: Sequence[str],
                  limit: int = 500) -> list[SignalRecord]:
    """Signals of `types` whose service is one of `services` in `env`, with ts in [lo, hi),
    oldest first. A staging deploy or crash never explains a production incident."""
    names = sorted(set(services))
    if not names or not types:
        return []
    marks = ", ".join("?" * len(names))
    kinds = ", ".join("?" * len(types))
    rows = store.fetchall(
        f"SELECT {_COLUMNS} FROM signals WHERE ts >= ? AND ts < ? AND env = ? AND type IN ({kinds})"
        f" AND service IN ({marks}) ORDER BY ts, signal_id LIMIT ?",
        (lo, hi, env, *types, *names, limit),
    )
    return [_record(r) for r in rows]


def signals_by_id(signal_ids: Iterable[str]) -> list[SignalRecord]:
    ids = sorted(set(signal_ids))
    if not ids:
        return []
    marks = ", ".join("?" * len(ids))
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM signals WHERE signal_id IN ({marks})", ids)
    return sorted((_record(r) for r in rows), key=lambda r: (r.ts, r.signal_id))


def services_with_versions(services: Iterable[str]) -> set[str]:
    """The services among `services` whose traffic ever carried a version."""
    names = sorted(set(services))
    if not names:
        return set()
    marks = ", ".join("?" * len(names))
    return {r[0] for r in store.fetchall(
        f"SELECT DISTINCT service FROM service_versions WHERE service IN ({marks})", names)}


def recent_signals(*, type: str | None = None, service: str | None = None, limit: int = 100,
                   offset: int = 0) -> list[SignalRecord]:
    """Signals matching every given filter, newest first (ties by signal_id): what a person
    scanning for recent changes reads, where `query_signals` serves replays oldest first."""
    where, params = [], []
    for column, value in (("type", type), ("service", service)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM signals{clause} ORDER BY ts DESC, signal_id LIMIT ? OFFSET ?",
                          (*params, limit, offset))
    return [_record(r) for r in rows]


def signal_services() -> list[str]:
    """Every service some signal names, sorted."""
    return [r[0] for r in store.fetchall("SELECT DISTINCT service FROM signals ORDER BY service")]


def recent_versions(limit: int = 50) -> list[dict[str, Any]]:
    """Versions first seen in traffic, newest first: `{service, env, version, first_seen,
    previous}` (`previous`: the version the service had before, None for its first)."""
    rows = store.fetchall(
        "SELECT service, env, version, first_seen FROM service_versions ORDER BY first_seen DESC, service, env"
        " LIMIT ?", (limit,))
    found = []
    for service, env, version, first_seen in rows:
        before = store.fetchone(
            "SELECT version FROM service_versions WHERE service = ? AND env = ? AND first_seen < ?"
            " ORDER BY first_seen DESC LIMIT 1", (service, env, first_seen))
        found.append({"service": service, "env": env, "version": version, "first_seen": first_seen,
                      "previous": before[0] if before else None})
    return found
