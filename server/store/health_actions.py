"""Safe actions: one operator-configured webhook per health alert key, and every run of one
(who asked, when, and what the webhook answered) for the health alert's history and the
incident timeline."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from server.store import db as store


@dataclass(frozen=True)
class HealthAction:
    key: str
    label: str
    url: str
    secret: str | None
    updated_at: float


@dataclass(frozen=True)
class ActionRun:
    health_alert_id: str
    key: str
    label: str
    url: str
    triggered_by: str
    key_id: str
    at: float
    duration_ms: float
    status_code: int | None
    answer: str | None
    error: str | None


def set_action(key: str, label: str, url: str, secret: str | None, now: float) -> HealthAction:
    with store.write_transaction():
        store.execute(
            "INSERT INTO health_actions (key, label, url, secret, updated_at) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET label = excluded.label, url = excluded.url, secret = excluded.secret,"
            " updated_at = excluded.updated_at", (key, label, url, secret, now))
    return HealthAction(key, label, url, secret, now)


def get_action(key: str) -> HealthAction | None:
    row = store.fetchone("SELECT key, label, url, secret, updated_at FROM health_actions WHERE key = ?", (key,))
    return HealthAction(*row) if row else None


def list_actions() -> list[HealthAction]:
    return [HealthAction(*r) for r in store.fetchall(
        "SELECT key, label, url, secret, updated_at FROM health_actions ORDER BY key")]


def remove_action(key: str) -> bool:
    with store.write_transaction():
        cursor = store.execute("DELETE FROM health_actions WHERE key = ?", (key,))
    return cursor.rowcount == 1


_RUN = ("health_alert_id, key, label, url, triggered_by, key_id, at, duration_ms, status_code, answer, error")


def record_run(run: ActionRun) -> int:
    with store.write_transaction():
        store.execute(f"INSERT INTO health_action_runs ({_RUN}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                      (run.health_alert_id, run.key, run.label, run.url, run.triggered_by, run.key_id, run.at,
                       run.duration_ms, run.status_code, run.answer, run.error))
        row = store.fetchone("SELECT MAX(id) FROM health_action_runs WHERE health_alert_id = ?",
                             (run.health_alert_id,))
    return int(row[0])


def runs_for(health_alert_id: str) -> list[dict[str, Any]]:
    """Every run of an action on one health alert, oldest first (the URL is not included)."""
    keys = ("id", *[k.strip() for k in _RUN.split(",") if k.strip() != "url"])
    return [dict(zip(keys, r, strict=True)) for r in store.fetchall(
        f"SELECT id, {_RUN.replace(' url,', '')} FROM health_action_runs WHERE health_alert_id = ? ORDER BY id",
        (health_alert_id,))]


def runs_since(since: float, limit: int = 500) -> list[dict[str, Any]]:
    """Action runs at or after `since`, oldest first: for timelines (who did what, when)."""
    keys = ("id", *[k.strip() for k in _RUN.split(",") if k.strip() != "url"])
    return [dict(zip(keys, r, strict=True)) for r in store.fetchall(
        f"SELECT id, {_RUN.replace(' url,', '')} FROM health_action_runs WHERE at >= ? ORDER BY id LIMIT ?",
        (since, limit))]
