"""Incidents, their families, state history and evidence snapshots.

The engine writes through `apply_tick` (one transaction, fenced by the lease); every
surface reads through `list_incidents` / `get_incident`, which return plain dicts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import orjson

from server.engine.lifecycle import ManualState, PastIncident
from server.engine.model import OPEN_STATES, RESOLVED, Family
from server.notify.model import OutboxRow
from server.sentinel.model import HealthWrites
from server.store import catalog, health_alerts, lease, notifications, timeline
from server.store import db as store
from server.store.timeline import TimelineEntry


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
    kind: str = "errors"  # errors, or a sentinel anomaly: latency, traffic
    manual: ManualState | None = None  # a person's decision on the state: the engine applies and keeps it


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
    kind: str = "errors"


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
    health: HealthWrites = field(default_factory=HealthWrites)  # health alerts raised and cleared
    notifications: list[OutboxRow] = field(default_factory=list)  # the outbox rows of the changes above
    severities: list[tuple[str, str, str, float]] = field(default_factory=list)  # id, P1..P4, reason, at (derived)
    follows: list[tuple[str, str]] = field(default_factory=list)  # new incident id, the one resolved by hand
    timeline: list[TimelineEntry] = field(default_factory=list)  # what Onset records of itself
    primaries: list[tuple[str, Family]] = field(default_factory=list)  # id, the family now at its origin

    def __bool__(self) -> bool:
        return bool(self.new or self.joins or self.changes or self.analyses or self.snapshots or self.health
                    or self.notifications or self.severities or self.follows or self.timeline or self.primaries)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def _manual(state: str | None, by: str | None, at: float | None, reason: str | None,
            declared_by: str | None) -> ManualState | None:
    if state is None:
        return None
    return ManualState(state, by or "someone", at or 0.0, reason, declared=declared_by is not None)


def open_incidents(kinds: tuple[str, ...] = ("errors",)) -> list[OpenIncident]:
    """Open incidents of `kinds`: the error engine's own by default; the sentinel's anomaly
    incidents (latency, traffic) are judged by the sentinel. A resolved incident a person
    reopened counts as open until the engine has applied that."""
    marks = ", ".join("?" * len(OPEN_STATES))
    kind_marks = ", ".join("?" * len(kinds))
    rows = store.fetchall(
        "SELECT id, state, service, env, step, error_code, onset, opened_at, recovering_since, cause,"
        " confidence, analysis, kind, manual_state, manual_by, manual_at, manual_reason, declared_by"
        f" FROM incidents WHERE (state IN ({marks}) OR (state = ? AND manual_state = 'active'))"
        f" AND kind IN ({kind_marks}) ORDER BY onset, id",
        (*OPEN_STATES, RESOLVED, *kinds),
    )
    incidents = {
        r[0]: OpenIncident(r[0], r[1], Family(*r[2:6]), r[6], r[7], r[8], r[9], r[10], {}, orjson.loads(r[11]),
                           r[12], _manual(*r[13:18]))
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
                " updated_at, cause, confidence, analysis, kind) VALUES (?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (inc.id, *inc.primary, inc.onset, inc.opened_at, inc.opened_at, inc.cause, inc.confidence,
                 _dumps(inc.analysis), inc.kind),
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
        for incident_id, family in writes.primaries:
            store.execute("UPDATE incidents SET service = ?, env = ?, step = ?, error_code = ? WHERE id = ?",
                          (*family, incident_id))
        for incident_id, kind, phase, captured_at, snapshot in writes.snapshots:
            store.execute(
                "INSERT INTO incident_evidence (incident_id, kind, phase, captured_at, snapshot)"
                " VALUES (?, ?, ?, ?, ?) ON CONFLICT (incident_id, kind, phase)"
                " DO UPDATE SET captured_at = excluded.captured_at, snapshot = excluded.snapshot",
                (incident_id, kind, phase, captured_at, _dumps(snapshot)),
            )
        for incident_id, level, reason, _ in writes.severities:
            # A person's severity is never replaced (the tick decided on what it read; this
            # guards a change made since).
            store.execute(
                "UPDATE incidents SET severity = ?, severity_source = 'derived', severity_reason = ?,"
                " severity_by = NULL WHERE id = ? AND (severity_source IS NULL OR severity_source <> 'manual')",
                (level, reason, incident_id))
        for incident_id, previous in writes.follows:
            store.execute("UPDATE incidents SET follows = ? WHERE id = ?", (previous, incident_id))
        timeline.insert_entries(writes.timeline)
        # The sentinel's health alerts and the outbox rows of every change above: a state
        # change and its notifications commit together or not at all.
        health_alerts.apply(writes.health)
        notifications.enqueue(writes.notifications, now)
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
            " resolved_at, cause, confidence, kind, severity, severity_source, acknowledged_by, acknowledged_at,"
            " assignee, title, manual_state, follows")


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
    incident.update(_response_of(incident_id))
    return incident


def _response_of(incident_id: str) -> dict[str, Any]:
    """Who is on the incident and what people decided: severity (with its source), acknowledged,
    assignee, a person's decision on the state, declared by hand, and the owning team of its
    service from the catalog."""
    row = store.fetchone(
        "SELECT severity, severity_source, severity_reason, severity_by, acknowledged_by, acknowledged_at, assignee,"
        " assigned_at, manual_state, manual_by, manual_at, manual_reason, title, declared_by, follows, service"
        " FROM incidents WHERE id = ?", (incident_id,))
    keys = ("severity", "severity_source", "severity_reason", "severity_by", "acknowledged_by", "acknowledged_at",
            "assignee", "assigned_at", "manual_state", "manual_by", "manual_at", "manual_reason", "title",
            "declared_by", "follows")
    found = dict(zip(keys, row[:-1], strict=True))
    entry = catalog.get_service(row[-1])
    found["owner"] = {k: entry[k] for k in ("name", "team", "runbook_url", "channel")} if entry else None
    return found


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


def _filters(states: tuple[str, ...], service: str | None, env: str | None,
             cause: str | None) -> tuple[str, list[Any]]:
    where, params = [f"i.state IN ({', '.join('?' * len(states))})"], list(states)
    if service is not None:
        # Any family of the incident, not only its first: a filter on checkout finds the
        # incident that started in payment and reached checkout.
        where.append("(i.service = ? OR EXISTS (SELECT 1 FROM incident_families f"
                     " WHERE f.incident_id = i.id AND f.service = ?))")
        params += [service, service]
    for column, value in (("env", env), ("cause", cause)):
        if value is not None:
            where.append(f"i.{column} = ?")
            params.append(value)
    return " AND ".join(where), params


def find_incidents(states: tuple[str, ...], *, service: str | None = None, env: str | None = None,
                   cause: str | None = None, limit: int = 50, offset: int = 0) -> list[dict[str, Any]]:
    """Summaries (as `list_incidents`) in `states` matching every given filter, newest onset
    first, each with `origin` (the engine's: service, step, via) and `impact` (`requests`
    {failed, total}, `users`, `error_rate` from the newest blast snapshot; None before one
    was captured). None filters match everything."""
    if not states:
        return []
    clause, params = _filters(states, service, env, cause)
    columns = ", ".join(f"i.{k.strip()}" for k in _SUMMARY.split(","))
    rows = store.fetchall(f"SELECT {columns}, i.analysis FROM incidents i WHERE {clause}"
                          " ORDER BY i.onset DESC, i.id LIMIT ? OFFSET ?", (*params, limit, offset))
    found = []
    for row in rows:
        incident = _summary(row[:-1])
        origin = orjson.loads(row[-1]).get("origin") or {}
        incident["origin"] = {k: origin.get(k) for k in ("service", "step", "via")} if origin.get("service") else None
        found.append(incident)
    impact = _impact_of([i["id"] for i in found])
    for incident in found:
        incident["impact"] = impact.get(incident["id"])
    return found


def count_incidents(states: tuple[str, ...], *, service: str | None = None, env: str | None = None,
                    cause: str | None = None) -> int:
    """How many incidents `find_incidents` would page through."""
    if not states:
        return 0
    clause, params = _filters(states, service, env, cause)
    return int(store.fetchone(f"SELECT COUNT(*) FROM incidents i WHERE {clause}", params)[0])


def _impact_of(incident_ids: list[str]) -> dict[str, dict[str, Any]]:
    if not incident_ids:
        return {}
    marks = ", ".join("?" * len(incident_ids))
    found: dict[str, tuple[int, dict[str, Any]]] = {}
    for incident_id, phase, snapshot in store.fetchall(
        "SELECT incident_id, phase, snapshot FROM incident_evidence WHERE kind = 'blast'"
        f" AND incident_id IN ({marks})", incident_ids,
    ):
        rank = 0 if phase == "latest" else 1
        if incident_id not in found or rank < found[incident_id][0]:
            content = orjson.loads(snapshot)
            found[incident_id] = (rank, {"requests": content.get("requests") or {"failed": 0, "total": 0},
                                         "users": content.get("users"), "error_rate": content.get("error_rate")})
    return {incident_id: impact for incident_id, (_, impact) in found.items()}


def incident_facets() -> dict[str, list[str]]:
    """The services (of any family) and envs that incidents have: what the filters offer."""
    services = store.fetchall("SELECT DISTINCT service FROM incident_families UNION"
                              " SELECT DISTINCT service FROM incidents ORDER BY 1")
    envs = store.fetchall("SELECT DISTINCT env FROM incidents ORDER BY 1")
    return {"services": [r[0] for r in services], "envs": [r[0] for r in envs]}


# -- the incident log's reads (docs/incident-log.md) ------------------------------------------
def _ids_clause(ids: list[str]) -> str:
    return f"id IN ({', '.join('?' * len(ids))})"


def severities_of(incident_ids: list[str]) -> dict[str, tuple[str | None, str | None]]:
    """id -> (severity, its source: derived | manual | None) as stored."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    return {r[0]: (r[1], r[2]) for r in store.fetchall(
        f"SELECT id, severity, severity_source FROM incidents WHERE {_ids_clause(ids)}", ids)}


def causes_of(incident_ids: list[str]) -> dict[str, tuple[str, str]]:
    """id -> (cause, confidence) as stored."""
    ids = sorted(set(incident_ids))
    if not ids:
        return {}
    return {r[0]: (r[1], r[2]) for r in store.fetchall(
        f"SELECT id, cause, confidence FROM incidents WHERE {_ids_clause(ids)}", ids)}


def latest_of_families(families: list[Family], exclude: set[str]) -> list[PastIncident]:
    """The newest incident of each family (not one of `exclude`), as the lifecycle's `follows` reads it."""
    found = []
    for family in sorted(set(families)):
        rows = store.fetchall(
            "SELECT i.id, i.onset, i.state, i.manual_state, i.manual_by FROM incidents i"
            " JOIN incident_families f ON f.incident_id = i.id WHERE f.service = ? AND f.env = ? AND f.step = ?"
            " AND f.error_code = ? ORDER BY i.onset DESC, i.id LIMIT ?", (*family, 1 + len(exclude)))
        newest = next((r for r in rows if r[0] not in exclude), None)
        if newest is not None:
            found.append(PastIncident(newest[0], family, newest[1], newest[2], newest[3], newest[4]))
    return found


def insert_declared(new: NewIncident, snapshots: list[tuple[str, str, str, float, dict[str, Any]]],
                    manual: ManualState, title: str, severity: tuple[str, str, str, str | None],
                    entries: list[TimelineEntry], outbox: list[OutboxRow], now: float) -> None:
    """Write an incident declared by hand: the incident held active by its declaration, its
    families, evidence, timeline entry and the outbox rows of its opening, in one transaction.
    `severity` is (level, source, reason, set by)."""
    with store.db.atomic():
        store.execute(
            "INSERT INTO incidents (id, state, service, env, step, error_code, onset, opened_at, updated_at, cause,"
            " confidence, analysis, kind, title, declared_by, manual_state, manual_by, manual_at, manual_reason,"
            " severity, severity_source, severity_reason, severity_by)"
            " VALUES (?, 'active', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (new.id, *new.primary, new.onset, new.opened_at, new.opened_at, new.cause, new.confidence,
             _dumps(new.analysis), new.kind, title, manual.by, manual.state, manual.by, manual.at, manual.reason,
             *severity),
        )
        for family, baseline in new.families.items():
            _insert_family(new.id, family, baseline, new.opened_at)
        _insert_change(StateChange(new.id, None, "active", f"declared by {manual.by}", new.opened_at))
        for incident_id, kind, phase, captured_at, snapshot in snapshots:
            store.execute(
                "INSERT INTO incident_evidence (incident_id, kind, phase, captured_at, snapshot) VALUES (?, ?, ?, ?, ?)",
                (incident_id, kind, phase, captured_at, _dumps(snapshot)),
            )
        timeline.insert_entries(entries)
        notifications.enqueue(outbox, now)


def recent_incident_ids(incident_id: str, before: float, limit: int) -> list[str]:
    """The newest `limit` incidents with an onset before `before` (not `incident_id`)."""
    return [r[0] for r in store.fetchall(
        "SELECT id FROM incidents WHERE id <> ? AND onset < ? ORDER BY onset DESC, id LIMIT ?",
        (incident_id, before, limit))]


def similarity_rows(incident_ids: list[str], *, with_messages: bool = True) -> list[dict[str, Any]]:
    """What recurrence compares of each incident: state, onset, cause, first family and every
    family, the engine's origin (service, step) and the error message its propagation
    evidence found ("Type: message", or None)."""
    ids = sorted(set(incident_ids))
    if not ids:
        return []
    rows = store.fetchall(f"SELECT {_SIMILAR}, i.analysis FROM incidents i WHERE i.{_ids_clause(ids)}", ids)
    families: dict[str, set[Family]] = {}
    messages: dict[str, tuple[int, str | None]] = {}
    marks = ", ".join("?" * len(ids))
    for incident_id, *family in store.fetchall(
            f"SELECT incident_id, service, env, step, error_code FROM incident_families WHERE incident_id IN ({marks})",
            ids):
        families.setdefault(incident_id, set()).add(Family(*family))
    for incident_id, phase, snapshot in store.fetchall(
            "SELECT incident_id, phase, snapshot FROM incident_evidence WHERE kind = 'propagation'"
            f" AND incident_id IN ({marks})", ids) if with_messages else ():
        rank = 0 if phase == "latest" else 1
        exception = orjson.loads(snapshot).get("exception") or {}
        text = f"{exception.get('type')}: {exception['message']}" if exception.get("message") else None
        if incident_id not in messages or rank < messages[incident_id][0]:
            messages[incident_id] = (rank, text)
    found = []
    for row in rows:
        origin = orjson.loads(row[9]).get("origin") or {}
        primary = Family(*row[5:9])
        found.append({"id": row[0], "state": row[1], "onset": row[2], "cause": row[3], "confidence": row[4],
                      "family": primary, "families": frozenset(families.get(row[0], {primary})),
                      "origin": (origin["service"], origin.get("step")) if origin.get("service") else None,
                      "message": messages.get(row[0], (0, None))[1]})
    return found
