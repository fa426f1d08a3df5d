"""Alerts, deduplicated by identity, and their attachment to incidents.

An alert's identity is (source, fingerprint, starts_at): Alertmanager's fingerprint is a
hash of the label set, and the same label set firing again later is a new alert with a new
startsAt. A repeated notification of the same identity updates its row (the latest
notification wins, so a resolved one closes it and PagerDuty's reopen opens it again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from server.engine.correlate import AlertFacts, AlertLink
from server.store import db as store

FIRING, RESOLVED = "firing", "resolved"
STATUSES = (FIRING, RESOLVED)
LINK_NAMES = ("generator", "dashboard", "panel", "silence")
ANNOTATION_NAMES = ("summary", "description", "runbook_url")


def alert_id_of(source: str, fingerprint: str, starts_at: float) -> str:
    """`alt_<20 hex>`, derived from the identity: every notification of an alert, on any
    worker or host, names the same row."""
    seed = f"{source}|{fingerprint}|{starts_at:.6f}"
    return "alt_" + hashlib.sha256(seed.encode()).hexdigest()[:20]


@dataclass(frozen=True)
class AlertRecord:
    """One alert as every sender's parser normalises it.

    `annotations` always holds summary, description and runbook_url (None when absent)
    besides whatever else the sender annotated; `links` holds generator, dashboard, panel
    and silence URLs (http/https only, None when absent). `ends_at` is None when unset
    (the zero time `0001-01-01T00:00:00Z`). `extra` keeps sender-specific fields.
    """

    source: str
    fingerprint: str
    status: str
    name: str
    service: str | None
    env: str | None
    severity: str | None
    labels: dict[str, str]
    annotations: dict[str, str | None]
    starts_at: float
    ends_at: float | None
    links: dict[str, str | None]
    trace_id: str | None = None
    error_code: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        return alert_id_of(self.source, self.fingerprint, self.starts_at)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


_UPSERT = (
    "INSERT INTO alerts (alert_id, source, fingerprint, starts_at, status, name, service, env, severity, ends_at,"
    " trace_id, error_code, labels, annotations, links, extra, first_received_at, last_received_at, resolved_at,"
    " notifications) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)"
    " ON CONFLICT (alert_id) DO UPDATE SET status = excluded.status, name = excluded.name,"
    " service = excluded.service, env = excluded.env, severity = excluded.severity, ends_at = excluded.ends_at,"
    " trace_id = excluded.trace_id, error_code = excluded.error_code, labels = excluded.labels,"
    " annotations = excluded.annotations, links = excluded.links, extra = excluded.extra,"
    " last_received_at = excluded.last_received_at,"
    " resolved_at = CASE WHEN excluded.status = 'resolved'"
    " THEN COALESCE(alerts.resolved_at, excluded.resolved_at) ELSE NULL END,"
    " notifications = alerts.notifications + 1"
)


def upsert_alerts(records: Sequence[AlertRecord], now: float) -> None:
    """Insert new alerts and update known ones. Call inside a write transaction."""
    store.executemany(_UPSERT, [
        (r.alert_id, r.source, r.fingerprint, r.starts_at, r.status, r.name, r.service, r.env, r.severity,
         r.ends_at, r.trace_id, r.error_code, _dumps(r.labels), _dumps(r.annotations), _dumps(r.links),
         _dumps(r.extra), now, now, now if r.status == RESOLVED else None)
        for r in records
    ])


def latest_start(source: str, fingerprint: str, *, firing_only: bool) -> float | None:
    """When the newest alert with this fingerprint started (one still firing first, or only
    those with `firing_only`): for senders that do not say, as Onset's own format may not."""
    status = " AND status = 'firing'" if firing_only else ""
    row = store.fetchone(
        f"SELECT starts_at FROM alerts WHERE source = ? AND fingerprint = ?{status}"
        " ORDER BY CASE WHEN status = 'firing' THEN 0 ELSE 1 END, starts_at DESC LIMIT 1",
        (source, fingerprint),
    )
    return row[0] if row else None


_COLUMNS = ("alert_id, source, fingerprint, starts_at, status, name, service, env, severity, ends_at, trace_id,"
            " error_code, labels, annotations, links, extra, first_received_at, last_received_at, resolved_at,"
            " notifications")
_KEYS = [k.strip() for k in _COLUMNS.split(",")]
_JSON = ("labels", "annotations", "links", "extra")


def _alert(row: Sequence[Any]) -> dict[str, Any]:
    alert = dict(zip(_KEYS, row, strict=True))
    for key in _JSON:
        alert[key] = orjson.loads(alert[key])
    return alert


def list_alerts(status: str | None = None, *, service: str | None = None, source: str | None = None,
                limit: int = 100) -> list[dict[str, Any]]:
    """Alerts newest start first, each with the ids of the incidents it is attached to;
    None filters match everything."""
    where, params = [], []
    for column, value in (("status", status), ("service", service), ("source", source)):
        if value is not None:
            where.append(f"{column} = ?")
            params.append(value)
    clause = f" WHERE {' AND '.join(where)}" if where else ""
    rows = store.fetchall(f"SELECT {_COLUMNS} FROM alerts{clause} ORDER BY starts_at DESC, alert_id LIMIT ?",
                          (*params, limit))
    alerts = [_alert(r) for r in rows]
    incidents = _incidents_of([a["alert_id"] for a in alerts])
    for alert in alerts:
        alert["incidents"] = incidents.get(alert["alert_id"], [])
    return alerts


def _incidents_of(alert_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for start in range(0, len(alert_ids), 500):
        chunk = alert_ids[start:start + 500]
        marks = ", ".join("?" * len(chunk))
        for alert_id, incident_id in store.fetchall(
            f"SELECT alert_id, incident_id FROM incident_alerts WHERE alert_id IN ({marks})"
            " ORDER BY attached_at, incident_id", chunk,
        ):
            found.setdefault(alert_id, []).append(incident_id)
    return found


def alerts_for_incident(incident_id: str) -> list[dict[str, Any]]:
    """The alerts attached to an incident, earliest start first, each with why it matched
    (`match`: trace_id, error_code or service) and when it was attached."""
    columns = ", ".join(f"a.{k}" for k in _KEYS)
    rows = store.fetchall(
        f"SELECT {columns}, l.reason, l.attached_at FROM incident_alerts l JOIN alerts a ON a.alert_id = l.alert_id"
        " WHERE l.incident_id = ? ORDER BY a.starts_at, a.alert_id",
        (incident_id,),
    )
    return [{**_alert(r[:-2]), "match": r[-2], "attached_at": r[-1]} for r in rows]


def alert_facts_since(since: float, now: float, limit: int = 2000) -> list[AlertFacts]:
    """Alerts that started by `now` and were firing at or after `since`: the ones that can
    still match an incident whose onset is after `since`. Newest first when over `limit`."""
    columns = ("alert_id, service, env, starts_at, CASE WHEN status = 'firing' THEN NULL ELSE ends_at END,"
               " trace_id, error_code")
    # Three index-served parts rather than one OR, which would read the whole table every tick.
    rows = store.fetchall(
        f"SELECT {columns} FROM alerts WHERE starts_at >= ? AND starts_at <= ?"
        f" UNION SELECT {columns} FROM alerts WHERE status = 'firing' AND starts_at < ?"
        f" UNION SELECT {columns} FROM alerts WHERE ends_at >= ? AND status = 'resolved'"
        " ORDER BY 4 DESC, 1 LIMIT ?",
        (since, now, since, since, limit),
    )
    return [AlertFacts(*r) for r in rows if r[3] <= now]


def attached_pairs(incident_ids: Iterable[str]) -> set[tuple[str, str]]:
    """(incident id, alert id) of the attachments the given incidents already have."""
    ids = sorted(set(incident_ids))
    if not ids:
        return set()
    marks = ", ".join("?" * len(ids))
    return {(r[0], r[1]) for r in store.fetchall(
        f"SELECT incident_id, alert_id FROM incident_alerts WHERE incident_id IN ({marks})", ids)}


def attach_alerts(links: Sequence[AlertLink], now: float) -> None:
    """Record attachments in one transaction; one already recorded keeps its first reason."""
    if not links:
        return
    with store.write_transaction():
        store.executemany(
            "INSERT INTO incident_alerts (incident_id, alert_id, reason, attached_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (incident_id, alert_id) DO NOTHING",
            [(link.incident_id, link.alert_id, link.reason, now) for link in links],
        )
