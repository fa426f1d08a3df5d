"""Executed plans and their idempotency keys (`POST /v1/plans/execute`).

A run is claimed (a `running` row) before its first step and finished with its result
before the answer is sent. With an Idempotency-Key, the claim is unique per (API key id,
idempotency key): whoever inserts the row runs the plan; a repeat reads the row instead.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

import orjson

from server.store import db as store

RUNNING, SUCCEEDED, FAILED = "running", "succeeded", "failed"
_COLUMNS = "id, key_id, idempotency_key, request_hash, status, result, created_at, finished_at"


@dataclass(frozen=True)
class PlanRun:
    id: str
    key_id: str
    idempotency_key: str | None
    request_hash: str
    status: str
    result: dict[str, Any] | None
    created_at: float
    finished_at: float | None


def _run(row: tuple) -> PlanRun:
    return PlanRun(row[0], row[1], row[2], row[3], row[4], orjson.loads(row[5]) if row[5] else None, row[6], row[7])


def new_plan_id() -> str:
    return f"plan_{secrets.token_hex(8)}"


def claim(key_id: str, idempotency_key: str | None, request_hash: str, request: Any, now: float,
          stale_after: float) -> tuple[PlanRun, bool]:
    """(the run, True) when this caller must execute it; (the earlier run, False) when the
    idempotency key was already used. A `running` claim older than `stale_after` seconds
    (its process died) is taken over with a new id."""
    plan_id = new_plan_id()
    with store.write_transaction():
        cursor = store.execute(
            f"INSERT INTO plan_runs ({_COLUMNS}, request) VALUES (?, ?, ?, ?, ?, NULL, ?, NULL, ?)"
            " ON CONFLICT (key_id, idempotency_key) DO NOTHING",
            (plan_id, key_id, idempotency_key, request_hash, RUNNING, now, orjson.dumps(request).decode()),
        )
        if cursor.rowcount == 1:
            return PlanRun(plan_id, key_id, idempotency_key, request_hash, RUNNING, None, now, None), True
        row = store.fetchone(f"SELECT {_COLUMNS} FROM plan_runs WHERE key_id = ? AND idempotency_key = ?",
                             (key_id, idempotency_key))
        earlier = _run(row)
        if earlier.status == RUNNING and now - earlier.created_at > stale_after \
                and earlier.request_hash == request_hash:
            store.execute("UPDATE plan_runs SET id = ?, created_at = ? WHERE id = ? AND status = ?",
                          (plan_id, now, earlier.id, RUNNING))
            return PlanRun(plan_id, key_id, idempotency_key, request_hash, RUNNING, None, now, None), True
        return earlier, False


def finish(plan_id: str, status: str, result: dict[str, Any], now: float) -> None:
    with store.write_transaction():
        store.execute("UPDATE plan_runs SET status = ?, result = ?, finished_at = ? WHERE id = ?",
                      (status, orjson.dumps(result).decode(), now, plan_id))


def abandon(plan_id: str) -> None:
    """Forget a run that never finished (its client went away mid-stream): a retry with the
    same idempotency key runs it afresh."""
    with store.write_transaction():
        store.execute("DELETE FROM plan_runs WHERE id = ? AND status = ?", (plan_id, RUNNING))


def get_run(plan_id: str) -> PlanRun | None:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM plan_runs WHERE id = ?", (plan_id,))
    return _run(row) if row else None


def count_runs(key_id: str | None = None) -> int:
    if key_id is None:
        return int(store.fetchone("SELECT COUNT(*) FROM plan_runs")[0])
    return int(store.fetchone("SELECT COUNT(*) FROM plan_runs WHERE key_id = ?", (key_id,))[0])
