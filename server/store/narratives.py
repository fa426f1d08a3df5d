"""Narratives of triage reports, one per (incident, report_hash, provider, model).

Accepted and rejected narrations are both kept (a rejection with its violations, so why
can be read later); a provider failure is not, so the next read asks again.
"""

from __future__ import annotations

from typing import Any

import orjson

from server.store import db as store


def get_narrative(incident_id: str, report_hash: str, provider: str, model: str) -> dict[str, Any] | None:
    row = store.fetchone(
        "SELECT narrative FROM narratives WHERE incident_id = ? AND report_hash = ? AND provider = ? AND model = ?",
        (incident_id, report_hash, provider, model))
    return orjson.loads(row[0]) if row else None


def keep_narrative(incident_id: str, report_hash: str, provider: str, model: str, narrative: dict[str, Any],
                   now: float) -> None:
    with store.write_transaction():
        store.execute(
            "INSERT INTO narratives (incident_id, report_hash, provider, model, narrative, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (incident_id, report_hash, provider, model) DO NOTHING",
            (incident_id, report_hash, provider, model, orjson.dumps(narrative).decode(), now))
