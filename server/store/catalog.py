"""The service catalog: what Onset knows of a service beyond its traffic — the owning team, the
runbook and the channel where its people talk. Written by admins, read by every surface."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from server.store import db as store

_COLUMNS = "name, team, runbook_url, channel, updated_at, updated_by"
_KEYS = ("name", "team", "runbook_url", "channel", "updated_at", "updated_by")


def put_service(name: str, team: str | None, runbook_url: str | None, channel: str | None, by: str,
                now: float) -> dict[str, Any]:
    """Create or replace a service's entry (every field as given; None clears it)."""
    with store.write_transaction():
        store.execute(
            f"INSERT INTO services ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (name) DO UPDATE SET"
            " team = excluded.team, runbook_url = excluded.runbook_url, channel = excluded.channel,"
            " updated_at = excluded.updated_at, updated_by = excluded.updated_by",
            (name, team, runbook_url, channel, now, by),
        )
    return dict(zip(_KEYS, (name, team, runbook_url, channel, now, by), strict=True))


def get_service(name: str) -> dict[str, Any] | None:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM services WHERE name = ?", (name,))
    return dict(zip(_KEYS, row, strict=True)) if row else None


def list_services() -> list[dict[str, Any]]:
    return [dict(zip(_KEYS, r, strict=True)) for r in store.fetchall(f"SELECT {_COLUMNS} FROM services ORDER BY name")]


def delete_service(name: str) -> bool:
    with store.write_transaction():
        return store.execute("DELETE FROM services WHERE name = ?", (name,)).rowcount == 1


def teams_of(services: Iterable[str]) -> dict[str, str]:
    """service -> owning team, for the services that have one."""
    names = sorted(set(services))
    if not names:
        return {}
    return {name: team for name, team in store.fetchall(
        f"SELECT name, team FROM services WHERE name IN ({', '.join('?' * len(names))}) AND team IS NOT NULL",
        names)}
