"""Health alerts: the sentinel's durable findings, raised and cleared by the engine's tick.

The engine writes through `apply` (inside `incidents.apply_tick`'s transaction); the
surfaces read `list_health_alerts`, `get_health_alert`, `active_health_alerts` and
`service_health` (the dashboard's Services page), which return plain dicts with float
times and `staleness_seconds` computed at `now`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from server.sentinel.model import ACTIVE, CLEARED, CRITICAL, WARNING, ActiveAlert, HealthWrites
from server.store import db as store
from server.store import lease

ENGINE_STALE_TICKS = 3  # as /readyz: no tick for this many intervals means nothing is watched
_COLUMNS = ("id, key, scope, severity, service, env, reason, details, stale_since, raised_at, cleared_at,"
            " clear_reason")
_KEYS = tuple(k.strip() for k in _COLUMNS.split(","))


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def apply(writes: HealthWrites) -> None:
    """Insert raised alerts, then clear cleared ones. Call inside the tick's transaction."""
    for r in writes.raises:
        f = r.finding
        store.execute(
            f"INSERT INTO health_alerts ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL)",
            (r.alert_id, f.key, f.scope, f.severity, f.service, f.env, f.reason, _dumps(f.details), f.stale_since,
             r.at),
        )
    for c in writes.clears:
        store.execute("UPDATE health_alerts SET cleared_at = ?, clear_reason = ? WHERE id = ? AND cleared_at IS NULL",
                      (c.at, c.reason, c.alert.id))


def active_alerts() -> dict[tuple[str, str], ActiveAlert]:
    """(key, scope) -> the active alert, for the sentinel's reconcile."""
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM health_alerts WHERE cleared_at IS NULL ORDER BY raised_at, id")
    return {(r[1], r[2]): ActiveAlert(r[0], r[1], r[2], r[3], r[4], r[5], r[6], orjson.loads(r[7]), r[8], r[9])
            for r in rows}


def _present(row: Sequence[Any], now: float) -> dict[str, Any]:
    alert = dict(zip(_KEYS, row, strict=True))
    alert["details"] = orjson.loads(alert["details"])
    alert["state"] = CLEARED if alert["cleared_at"] is not None else ACTIVE
    until = alert["cleared_at"] if alert["cleared_at"] is not None else now
    alert["staleness_seconds"] = (round(max(0.0, until - alert["stale_since"]), 3)
                                  if alert["stale_since"] is not None else None)
    return alert


def list_health_alerts(state: str | None, now: float, *, key: str | None = None, service: str | None = None,
                       limit: int = 100) -> list[dict[str, Any]]:
    """Health alerts newest raise first; `state` active, cleared or None for both."""
    where, params = [], []
    if state == ACTIVE:
        where.append("cleared_at IS NULL")
    elif state == CLEARED:
        where.append("cleared_at IS NOT NULL")
    for column, value in (("key", key), ("service", service)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM health_alerts{clause} ORDER BY raised_at DESC, id LIMIT ?",
                          (*params, limit))
    return [_present(r, now) for r in rows]


def active_health_alerts(now: float, service: str | None = None) -> list[dict[str, Any]]:
    """Every active health alert (of one service, if given), most severe first, then oldest."""
    alerts = list_health_alerts(ACTIVE, now, service=service, limit=10_000)
    return sorted(alerts, key=lambda a: (a["severity"] != CRITICAL, a["raised_at"], a["id"]))


def get_health_alert(alert_id: str, now: float) -> dict[str, Any] | None:
    row = store.fetchone(f"SELECT {_COLUMNS} FROM health_alerts WHERE id = ?", (alert_id,))
    return _present(row, now) if row else None


def service_health(now: float, tick_seconds: float, lookback_seconds: float = 3600) -> list[dict[str, Any]]:
    """Per (service, env) seen in traffic within `lookback_seconds` or named by an active
    alert: `health` critical, warning, ok, or unknown while the engine is stale (nothing is
    being checked, so nothing may look healthy), with `reason`, `last_seen` (start of the
    newest bucket with any event, within the lookback) and the service's active `alerts`.
    Sorted worst first, then by name."""
    state = lease.state()
    engine_age = None if state.last_tick_at is None else now - state.last_tick_at
    engine_stale = engine_age is None or engine_age > ENGINE_STALE_TICKS * tick_seconds
    # Recent buckets only (the bucket index): the counters of a long history are never scanned.
    seen = {(s, e): float(b) for s, e, b in store.fetchall(
        "SELECT service, env, MAX(bucket) FROM event_counts WHERE bucket >= ? GROUP BY service, env",
        (now - lookback_seconds,))}
    alerts: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for alert in active_health_alerts(now):
        if alert["service"] is not None:
            alerts.setdefault((alert["service"], alert["env"]), []).append(alert)
    found = []
    for service, env in sorted(set(seen) | set(alerts)):
        mine = alerts.get((service, env), [])
        if engine_stale:
            health = "unknown"
            reason = ("the engine has never ticked" if engine_age is None
                      else f"no engine tick for {engine_age:.0f}s: nothing is being checked")
        elif mine:
            health = CRITICAL if any(a["severity"] == CRITICAL for a in mine) else WARNING
            reason = "; ".join(f"{a['key']}: {a['reason']}" for a in mine)
        else:
            health, reason = "ok", None
        found.append({"service": service, "env": env, "health": health, "reason": reason,
                      "last_seen": seen.get((service, env)), "alerts": mine})
    order = {CRITICAL: 0, "unknown": 1, WARNING: 2, "ok": 3}
    return sorted(found, key=lambda s: (order[s["health"]], s["service"], s["env"]))
