"""Grafana unified alerting webhooks: Alertmanager's group shape plus Grafana's own fields.

Per alert Grafana adds `silenceURL`, `dashboardURL`, `panelURL`, `imageURL`, `values` and
`valueString`; per group `orgId`, `title`, `state` and `message`. Its timestamps carry an
offset and microseconds (`2021-10-12T09:51:03.157076+02:00`).
"""

from __future__ import annotations

from typing import Any

from server.ingest.alerts.alertmanager import group_alerts, group_extra, parse_alert, truncated_of
from server.ingest.alerts.fields import http_url, text
from server.ingest.alerts.parsed import Parsed
from server.ingest.fields import encoded_size
from server.store.alerts import AlertRecord

SOURCE = "grafana"
MAX_VALUES_BYTES = 4096


def _numbers(values: Any) -> dict[str, float | int] | None:
    """The query values that made the alert fire ({"B": 44.2, "C": 1}), when small and numeric."""
    if not isinstance(values, dict):
        return None
    kept = {str(k): v for k, v in values.items()
            if isinstance(v, int | float) and not isinstance(v, bool) and v == v and abs(v) != float("inf")}
    size = encoded_size(kept)
    return kept if kept and size is not None and size <= MAX_VALUES_BYTES else None


def _alert_extra(group: dict[str, Any], alert: Any) -> dict[str, Any]:
    extra = dict(group)
    if isinstance(alert, dict):
        values = _numbers(alert.get("values"))
        if values:
            extra["values"] = values
        for key, name, limit in (("valueString", "value_string", 4096), ("orgId", "org_id", 64)):
            value = text(alert.get(key), limit)
            if value is not None:
                extra[name] = value
        image = http_url(alert.get("imageURL"))
        if image:
            extra["image_url"] = image
    return extra


def parse(payload: Any, now: float) -> Parsed:
    """Every alert of the group with Grafana's links and values; a bad alert is rejected and
    its neighbours kept."""
    alerts = group_alerts(payload)
    parsed = Parsed(SOURCE, truncated=truncated_of(payload))
    group = group_extra(payload)
    for key, name in (("title", "title"), ("orgId", "org_id")):
        value = text(payload.get(key), 1024)
        if value is not None:
            group[name] = value
    for index, alert in enumerate(alerts):
        urls = {}
        if isinstance(alert, dict):
            urls = {"dashboard": alert.get("dashboardURL"), "panel": alert.get("panelURL"),
                    "silence": alert.get("silenceURL")}
        result = parse_alert(alert, SOURCE, _alert_extra(group, alert), **urls)
        if isinstance(result, AlertRecord):
            parsed.records.append(result)
        else:
            parsed.reject(index, result)
    return parsed
