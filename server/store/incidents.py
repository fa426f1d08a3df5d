"""Incidents, their families, state history and evidence snapshots.

The engine writes through `apply_tick` (one transaction, fenced by the lease); every
surface reads through `list_incidents` / `get_incident`, which return plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from server.engine.model import OPEN_STATES, Family
from server.store import db as store
from server.store import lease


@dataclass
class OpenIncident:
    id: str
    state: str
    primary: Family
    onset: float
    opened_at: float
    recovering_since: float | None
    cause: str
    confidence: str
    families: dict[Family, float]  # family -> baseline frozen when it joined
    analysis: dict[str, Any]


@dataclass(frozen=True)
class NewIncident:
    id: str
    primary: Family
    onset: float
    opened_at: float
    families: dict[Family, float]
    cause: str
    confidence: str
    analysis: dict[str, Any]


@dataclass(frozen=True)
class StateChange:
    incident_id: str
    from_state: str | None
    to_state: str
    reason: str
    at: float


@dataclass
class TickWrites:
    """Everything one tick changes, applied in one transaction."""

    new: list[NewIncident] = field(default_factory=list)
    joins: list[tuple[str, Family, float, float]] = field(default_factory=list)  # id, family, baseline, at
    changes: list[StateChange] = field(default_factory=list)
    analyses: list[tuple[str, str, str, dict[str, Any]]] = field(default_factory=list)  # id, cause, conf, analysis
    snapshots: list[tuple[str, str, str, float, dict[str, Any]]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.new or self.joins or self.changes or self.analyses or self.snapshots)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def open_incidents() -> list[OpenIncident]:
    marks = ", ".join("?" * len(OPEN_STATES))
    rows = store.fetchall(
        "SELECT id, state, service, env, step, error_code, onset, opened_at, recovering_since, cause,"
        f" confidence, analysis FROM incidents WHERE state IN ({marks}) ORDER BY onset, id",
        OPEN_STATES,
    )
    incidents = {
        r[0]: OpenIncident(r[0], r[1], Family(*r[2:6]), r[6], r[7], r[8], r[9], r[10], {}, orjson.loads(r[11]))
        for r in rows
    }
    if incidents:
        marks = ", ".join("?" * len(incidents))
        for incident_id, *fam, baseline in store.fetchall(
            "SELECT incident_id, service, env, step, error_code, baseline FROM incident_families"
            f" WHERE incident_id IN ({marks}) ORDER BY joined_at, service, step, error_code",
            list(incidents),
        ):
            incidents[incident_id].families[Family(*fam)] = baseline
    return list(incidents.values())


def id_taken(incident_id: str) -> bool:
    return store.fetchone("SELECT 1 FROM incidents WHERE id = ?", (incident_id,)) is not None


def apply_tick(writes: TickWrites, holder: str, now: float, ttl: float, tick_ms: float) -> bool:
    """Write a tick's changes and renew the lease, atomically. False (nothing written) when
    `holder` no longer holds the lease."""
    with store.db.atomic() as txn:
        if not lease.renew_for_tick(holder, now, ttl, tick_ms):
            txn.rollback()
            return False
        for inc in writes.new:
            store.execute(
                "INSERT INTO incidents (id, state, service, env, step, error_code, onset, opened_at,"
                " updated_at, cause, confidence, analysis) VALUES (?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (inc.id, *inc.primary, inc.onset, inc.opened_at, inc.opened_at, inc.cause, inc.confidence,
                 _dumps(inc.analysis)),
            )
            for family, baseline in inc.families.items():
                _insert_family(inc.id, family, baseline, inc.opened_at)
            _insert_change(StateChange(inc.id, None, "active", "families spiked", inc.opened_at))
        for incident_id, family, baseline, at in writes.joins:
            _insert_family(incident_id, family, baseline, at)
            store.execute("UPDATE incidents SET updated_at = ? WHERE id = ?", (at, incident_id))
        for change in writes.changes:
            _insert_change(change)
            store.execute(
                "UPDATE incidents SET state = ?, updated_at = ?,"
                " recovering_since = CASE WHEN ? = 'recovering' THEN ? ELSE NULL END,"
                " resolved_at = CASE WHEN ? = 'resolved' THEN ? ELSE NULL END WHERE id = ?",
                (change.to_state, change.at, change.to_state, change.at, change.to_state, change.at,
                 change.incident_id),
            )
        for incident_id, cause, confidence, analysis in writes.analyses:
            store.execute(
                "UPDATE incidents SET cause = ?, confidence = ?, analysis = ?, updated_at = ? WHERE id = ?",
                (cause, confidence, _dumps(analysis), now, incident_id),
            )
        for incident_id, kind, phase, captured_at, snapshot in writes.snapshots:
            store.execute(
                "INSERT INTO incident_evidence (incident_id, kind, phase, captured_at, snapshot)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, kind, phase)"
                " DO UPDATE SET captured_at = excluded.captured_at, snapshot = excluded.snapshot",
                (incident_id, kind, phase, captured_at, _dumps(snapshot)),
            )
    return True


def _insert_family(incident_id: str, family: Family, baseline: float, at: float) -> None:
    store.execute(
        "INSERT INTO incident_families (incident_id, service, env, step, error_code, baseline, joined_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
        (incident_id, *family, baseline, at),
    )


def _insert_change(change: StateChange) -> None:
    store.execute(
        "INSERT INTO incident_transitions (incident_id, ts, from_state, to_state, reason) VALUES (?, ?, ?, ?, ?)",
        (change.incident_id, change.at, change.from_state, change.to_state, change.reason),
    )


_SUMMARY = ("id, state, service, env, step, error_code, onset, opened_at, updated_at, recovering_since,"
            " resolved_at, cause, confidence")


def _summary(row: tuple) -> dict[str, Any]:
    keys = [k.strip() for k in _SUMMARY.split(",")]
    return dict(zip(keys, row, strict=True))


def list_incidents(state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Incidents newest onset first; `state` None means every state."""
    if state is None:
        rows = store.fetchall(f"SELECT {_SUMMARY} FROM incidents ORDER BY onset DESC, id LIMIT ?", (limit,))
    else:
        rows = store.fetchall(
            f"SELECT {_SUMMARY} FROM incidents WHERE state = ? ORDER BY onset DESC, id LIMIT ?", (state, limit)
        )
    return [_summary(r) for r in rows]


def get_incident(incident_id: str) -> dict[str, Any] | None:
    """The incident with its families, state history, analysis and evidence snapshots."""
    row = store.fetchone(f"SELECT {_SUMMARY}, analysis FROM incidents WHERE id = ?", (incident_id,))
    if row is None:
        return None
    incident = _summary(row[:-1])
    incident["analysis"] = orjson.loads(row[-1])
    incident["families"] = [
        {"service": r[0], "env": r[1], "step": r[2], "error_code": r[3], "baseline": r[4], "joined_at": r[5]}
        for r in store.fetchall(
            "SELECT service, env, step, error_code, baseline, joined_at FROM incident_families"
            " WHERE incident_id = ? ORDER BY joined_at, service, step, error_code",
            (incident_id,),
        )
    ]
    incident["transitions"] = [
        {"at": r[0], "from": r[1], "to": r[2], "reason": r[3]}
        for r in store.fetchall(
            "SELECT ts, from_state, to_state, reason FROM incident_transitions WHERE incident_id = ? ORDER BY id",
            (incident_id,),
        )
    ]
    incident["snapshots"] = {
        (r[0], r[1]): {"captured_at": r[2], **orjson.loads(r[3])}
        for r in store.fetchall(
            "SELECT kind, phase, captured_at, snapshot FROM incident_evidence WHERE incident_id = ?",
            (incident_id,),
        )
    }
    return incident


def evidence_snapshots(incident_id: str, phase: str) -> dict[str, tuple[float, dict[str, Any]]]:
    """kind -> (captured_at, snapshot) of one phase ("opening" or "latest") of an incident."""
    return {
        kind: (captured_at, orjson.loads(snapshot))
        for kind, captured_at, snapshot in store.fetchall(
            "SELECT kind, captured_at, snapshot FROM incident_evidence WHERE incident_id = ? AND phase = ?",
            (incident_id, phase),
        )
    }


_SIMILAR = "i.id, i.state, i.onset, i.cause, i.confidence, i.service, i.env, i.step, i.error_code"


def _similar_row(row: tuple, match: str) -> dict[str, Any]:
    return {"id": row[0], "state": row[1], "onset": row[2], "cause": row[3], "confidence": row[4],
            "family": Family(*row[5:9]), "match": match}


def similar_incidents(incident_id: str, families: list[Family], onset: float, origin: tuple[str, str] | None,
                      cause: str, limit: int = 100) -> list[dict[str, Any]]:
    """Incidents with an earlier onset that share a family with this one, or its origin
    (service, step) and cause; most recent first. Each says which way it matched."""
    found: dict[str, dict[str, Any]] = {}
    if families:
        clause = " OR ".join("(f.service = ? AND f.env = ? AND f.step = ? AND f.error_code = ?)" for _ in families)
        rows = store.fetchall(
            f"SELECT DISTINCT {_SIMILAR} FROM incidents i JOIN incident_families f ON f.incident_id = i.id"
            f" WHERE ({clause}) AND i.id <> ? AND i.onset < ? ORDER BY i.onset DESC, i.id LIMIT ?",
            (*[v for family in families for v in family], incident_id, onset, limit),
        )
        for row in rows:
            found[row[0]] = _similar_row(row, "same_family")
    if origin is not None:
        rows = store.fetchall(
            f"SELECT {_SIMILAR}, i.analysis FROM incidents i WHERE i.cause = ? AND i.id <> ? AND i.onset < ?"
            " ORDER BY i.onset DESC, i.id LIMIT ?",
            (cause, incident_id, onset, limit * 4),
        )
        for row in rows:
            theirs = orjson.loads(row[9]).get("origin") or {}
            if row[0] not in found and (theirs.get("service"), theirs.get("step")) == origin:
                found[row[0]] = _similar_row(row, "same_origin_and_cause")
    return sorted(found.values(), key=lambda s: (-s["onset"], s["id"]))[:limit]
