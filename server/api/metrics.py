"""GET /metrics (Prometheus text format), and the timing of every ingest request.

/metrics needs a `read` key on ONSET_BIND. With ONSET_METRICS_ADDR set, `onset serve`
also listens there, and a request that arrived on that listener gets /metrics without a
key and nothing else (404): a Prometheus on the private network scrapes without a secret,
while the public address keeps every route behind a key.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import orjson
from flask import Blueprint, Flask, Response, current_app, g, request
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from server import metrics
from server.auth import authenticate, key_from_request
from server.engine.model import STATES
from server.errors import NotFound
from server.store import incidents, lease

log = logging.getLogger("onset.metrics")

bp = Blueprint("metrics", __name__)

# Endpoint -> the kind of record it ingests, and where its error body lists rejected items.
INGEST_ENDPOINTS = {
    "ingest.post_events": ("events", "events"),
    "ingest.post_signals": ("signals", "signals"),
    "ingest.post_deploys": ("deploys", "signals"),
    "alerts.post_alerts": ("alerts", "alerts"),
    "alerts.post_alerts_from": ("alerts", "alerts"),
    "alerts.post_pagerduty": ("alerts", "alerts"),
    "otlp.post_traces": ("spans", "spans"),
    "heartbeats.post_heartbeat": ("heartbeats", "heartbeats"),
}


def on_metrics_listener() -> bool:
    """Whether this request came in on ONSET_METRICS_ADDR (gunicorn tells the socket)."""
    addr = current_app.config["ONSET"].metrics_addr
    sock = request.environ.get("gunicorn.socket")
    if not addr or sock is None:
        return False
    try:
        return sock.getsockname()[1] == int(addr.rpartition(":")[2])
    except (OSError, IndexError, TypeError):
        return False


@bp.get("/metrics")
def get_metrics():
    if not on_metrics_listener():
        g.key = authenticate("read", key_from_request())
    return Response(metrics.exposition(StoreCollector()), content_type=metrics.CONTENT_TYPE)


get_metrics.required_scope = "read"  # type: ignore[attr-defined]  # not on the metrics listener


class StoreCollector(Collector):
    """Gauges read from the database at scrape time: the same on every worker and host."""

    def collect(self) -> Iterator:
        up = GaugeMetricFamily("onset_database_up", "Whether the scrape could read the database.")
        try:
            by_state = {state: incidents.count_incidents((state,)) for state in STATES}
            state = lease.state()
        except Exception as exc:
            log.warning("metrics could not read the database: %s", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        family = GaugeMetricFamily("onset_incidents", "Incidents by state.", labels=["state"])
        for name, count in by_state.items():
            family.add_metric([name], count)
        yield family
        if state.last_tick_at is not None:
            yield GaugeMetricFamily("onset_engine_last_tick_timestamp_seconds",
                                    "When the engine last committed a tick (Unix time).", value=state.last_tick_at)
            yield GaugeMetricFamily("onset_engine_last_tick_age_seconds", "Seconds since the engine's last tick.",
                                    value=max(0.0, time.time() - state.last_tick_at))
        if state.last_tick_ms is not None:
            yield GaugeMetricFamily("onset_engine_last_tick_duration_seconds", "How long the last tick took.",
                                    value=state.last_tick_ms / 1000)
        yield GaugeMetricFamily("onset_engine_lease_held", "Whether some engine holds an unexpired lease.",
                                value=1 if state.expires_at is not None and state.expires_at >= time.time() else 0)


def _only_metrics_on_its_listener() -> None:
    if request.path != "/metrics" and on_metrics_listener():
        raise NotFound("this listener serves GET /metrics only", {"path": ["not served here"]})


def _start_timer() -> None:
    if request.endpoint in INGEST_ENDPOINTS:
        g.ingest_started = time.perf_counter()


def _record_ingest(response: Response) -> Response:
    kind_and_list = INGEST_ENDPOINTS.get(request.endpoint or "")
    if kind_and_list is None:
        return response
    kind, list_key = kind_and_list
    started = g.get("ingest_started", time.perf_counter())
    outcome = "ok"
    if response.status_code >= 400:
        outcome, rejected = _error_of(response, list_key)
        if rejected:
            metrics.ingested(kind, 0, rejected)
    metrics.ingest_request(kind, outcome, time.perf_counter() - started)
    return response


def _error_of(response: Response, list_key: str) -> tuple[str, int]:
    """The error code of an error answer, and how many records it says were rejected as invalid."""
    try:
        error = orjson.loads(response.get_data())["error"]
        code = str(error["code"])
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return f"http_{response.status_code}", 0
    if code != "validation_failed":
        return code, 0
    fields = error.get("fields") if isinstance(error.get("fields"), dict) else {}
    if isinstance(fields.get(list_key), list):
        return code, len(fields[list_key])
    return code, 0 if "body" in fields else 1  # an unreadable body holds no countable record


def install(app: Flask) -> None:
    """Time every ingest request and keep the metrics listener to /metrics."""
    app.before_request(_only_metrics_on_its_listener)
    app.before_request(_start_timer)
    app.after_request(_record_ingest)
