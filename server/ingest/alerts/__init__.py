"""Alert intake: one parser per sender, one normalised shape (`store.alerts.AlertRecord`),
one write. Alerts never open incidents: the engine attaches them (`engine.correlate`).

`detect_source` tells the sender from the body for `POST /v1/alerts`; `POST
/v1/alerts/{source}` names it.
"""

from __future__ import annotations

from typing import Any

from server.config import Settings
from server.errors import ValidationFailed
from server.ingest.alerts import alertmanager, grafana, onset, pagerduty
from server.ingest.alerts.parsed import Parsed
from server.store import alerts as alert_store
from server.store import db as store

SOURCES = ("alertmanager", "grafana", "pagerduty", "onset")
_GRAFANA_ALERT_KEYS = ("silenceURL", "dashboardURL", "panelURL", "valueString", "values")


def detect_source(payload: Any) -> str:
    """`pagerduty` for a V3 webhook event, `grafana` for a group with Grafana's fields,
    `alertmanager` for another webhook group, else `onset` (whose validation then names
    what is missing)."""
    if not isinstance(payload, dict):
        return onset.SOURCE
    event = payload.get("event")
    if isinstance(event, dict) and "event_type" in event:
        return pagerduty.SOURCE
    alerts = payload.get("alerts")
    if isinstance(alerts, list) and any(k in payload for k in ("groupKey", "receiver", "version", "externalURL")):
        grafana_alert = any(isinstance(a, dict) and any(k in a for k in _GRAFANA_ALERT_KEYS) for a in alerts)
        if "orgId" in payload or grafana_alert or payload.get("version") == "1":
            return grafana.SOURCE
        return alertmanager.SOURCE
    return onset.SOURCE


def parse_alerts(payload: Any, source: str, now: float, start_of: onset.StartOf, max_items: int) -> Parsed:
    """The normalised alerts of a body from `source`. Raises ValidationFailed when the body is
    not that sender's shape at all; a bad alert inside it is rejected, its neighbours kept."""
    if source == alertmanager.SOURCE:
        return alertmanager.parse(payload, now)
    if source == grafana.SOURCE:
        return grafana.parse(payload, now)
    if source == pagerduty.SOURCE:
        return pagerduty.parse(payload, now)
    return onset.parse(payload, now, start_of, max_items)


def ingest_alerts(payload: Any, source: str, settings: Settings, now: float) -> dict[str, Any]:
    """Parse and commit a body's alerts in one transaction; the API answer.

    Raises ValidationFailed when every alert was rejected (nothing is stored then).
    """

    def start_of(fingerprint: str, firing_only: bool) -> float | None:
        return alert_store.latest_start(onset.SOURCE, fingerprint, firing_only=firing_only)

    parsed = parse_alerts(payload, source, now, start_of, settings.max_batch_items)
    if parsed.rejected and not parsed.records:
        raise ValidationFailed(f"all {len(parsed.rejected)} alerts were rejected", {"alerts": parsed.rejected})
    if parsed.records:
        with store.write_transaction():
            alert_store.upsert_alerts(parsed.records, now)
    return {
        "source": parsed.source,
        "accepted": len(parsed.records),
        "rejected": parsed.rejected,
        "ignored": parsed.ignored,
        "truncated_alerts": parsed.truncated,
        "alert_ids": list(dict.fromkeys(r.alert_id for r in parsed.records)),
    }
