"""Artifacts: files attached to an incident (Markdown, JSON, plain text, at most 2 MB), kept in
the database with their SHA-256 so that a backup holds them and every host serves them."""

from __future__ import annotations

import secrets
from typing import Any

from server.store import db as store
from server.store import timeline
from server.store.timeline import TimelineEntry

_COLUMNS = "id, incident_id, name, content_type, size, sha256, author, created_at"
_KEYS = ("id", "incident_id", "name", "content_type", "size", "sha256", "author", "created_at")


def add_artifact(incident_id: str, name: str, content_type: str, content: bytes, sha256: str, author: str,
                 entry: TimelineEntry, now: float) -> dict[str, Any]:
    artifact_id = f"art_{secrets.token_hex(6)}"
    with store.write_transaction():
        store.execute(
            f"INSERT INTO artifacts ({_COLUMNS}, content) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (artifact_id, incident_id, name, content_type, len(content), sha256, author, now, content))
        timeline.insert_entries([TimelineEntry(entry.incident_id, entry.ts, entry.kind, entry.author, entry.source,
                                               entry.body, {**entry.data, "artifact_id": artifact_id},
                                               entry.key_id)])
    return dict(zip(_KEYS, (artifact_id, incident_id, name, content_type, len(content), sha256, author, now),
                    strict=True))


def list_artifacts(incident_id: str) -> list[dict[str, Any]]:
    """An incident's artifacts (never their content), oldest first."""
    return [dict(zip(_KEYS, r, strict=True)) for r in store.fetchall(
        f"SELECT {_COLUMNS} FROM artifacts WHERE incident_id = ? ORDER BY created_at, id", (incident_id,))]


def get_artifact(incident_id: str, artifact_id: str) -> tuple[dict[str, Any], bytes] | None:
    """An artifact and its bytes."""
    row = store.fetchone(f"SELECT {_COLUMNS}, content FROM artifacts WHERE incident_id = ? AND id = ?",
                         (incident_id, artifact_id))
    if row is None:
        return None
    return dict(zip(_KEYS, row[:-1], strict=True)), bytes(row[-1])
