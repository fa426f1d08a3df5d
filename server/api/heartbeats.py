"""POST /v1/heartbeats (scope ingest): a pipeline stage beats; GET /v1/heartbeats (read)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint

from server import metrics
from server.api.ingest import json_payload
from server.auth import requires
from server.errors import json_response
from server.ingest.heartbeats import record_beat
from server.sentinel.heartbeats import LATE_FACTOR
from server.store import heartbeats
from server.timefmt import iso

bp = Blueprint("heartbeats", __name__)


def present_heartbeat(row: dict[str, Any], now: float) -> dict[str, Any]:
    due_by = row["last_beat_at"] + LATE_FACTOR * row["interval_s"]
    return {"source": row["source"], "interval_s": row["interval_s"], "after": row["after"],
            "beats": row["beats"], "declared_at": iso(row["declared_at"]), "last_beat_at": iso(row["last_beat_at"]),
            "late_after": iso(due_by), "late": now > due_by}


@bp.post("/v1/heartbeats")
@requires("ingest")
def post_heartbeat():
    now = time.time()
    beat = record_beat(json_payload(), now)
    metrics.ingested("heartbeats", 1)
    return json_response(present_heartbeat(beat, now))


@bp.get("/v1/heartbeats")
@requires("read")
def list_heartbeats():
    now = time.time()
    return json_response({"heartbeats": [present_heartbeat(r, now) for r in heartbeats.heartbeat_rows()]})
