"""POST /v1/events, /v1/signals, /v1/deploys; GET /v1/signals."""

from __future__ import annotations

import time

from flask import Blueprint, current_app, request

from server import metrics
from server.auth import requires
from server.errors import ValidationFailed, json_response
from server.ingest.body import parse_json, read_body, require_json
from server.ingest.events import ingest_events
from server.ingest.signals import ingest_signals
from server.store.signals import query_signals
from server.timefmt import iso, parse_time

bp = Blueprint("ingest", __name__)


def json_payload() -> object:
    """The request's JSON body, read within the size cap and decompressed."""
    settings = current_app.config["ONSET"]
    require_json(request.content_type)
    body = read_body(request.stream, request.headers.get("Content-Encoding"), settings.max_body_bytes)
    return parse_json(body)


@bp.post("/v1/events")
@requires("ingest")
def post_events():
    result = ingest_events(json_payload(), current_app.config["ONSET"], time.time())
    metrics.ingested("events", result.accepted, len(result.rejected))
    return json_response(result.as_dict())


@bp.post("/v1/signals")
@requires("ingest")
def post_signals():
    result, records = ingest_signals(json_payload(), current_app.config["ONSET"], time.time())
    metrics.ingested("signals", result.accepted, len(result.rejected))
    return json_response({**result.as_dict(), "signal_ids": [r.signal_id for r in records]})


@bp.post("/v1/deploys")
@requires("ingest")
def post_deploys():
    result, records = ingest_signals(json_payload(), current_app.config["ONSET"], time.time(), deploys=True)
    metrics.ingested("deploys", result.accepted, len(result.rejected))
    return json_response({**result.as_dict(), "signal_ids": [r.signal_id for r in records]})


def _time_arg(name: str) -> float | None:
    value = request.args.get(name)
    if value is None:
        return None
    try:
        return parse_time(float(value) if value.replace(".", "", 1).isdigit() else value)
    except ValueError as exc:
        raise ValidationFailed(f"bad {name}", {name: [str(exc)]}) from None


def limit_arg(default: int = 100, most: int = 1000) -> int:
    raw = request.args.get("limit", str(default))
    # isascii: str.isdigit() also accepts digits int() cannot read, such as "²".
    if not (raw.isascii() and raw.isdigit()) or not 1 <= int(raw) <= most:
        raise ValidationFailed("bad limit", {"limit": [f"must be an integer from 1 to {most}"]})
    return int(raw)


@bp.get("/v1/signals")
@requires("read")
def get_signals():
    records = query_signals(
        service=request.args.get("service"), env=request.args.get("env"), type=request.args.get("type"),
        source=request.args.get("source"), since=_time_arg("since"), until=_time_arg("until"),
        limit=limit_arg(),
    )
    return json_response({"signals": [{**r.as_dict(), "ts": iso(r.ts), "received_at": iso(r.received_at)}
                                      for r in records]})
