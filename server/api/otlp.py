"""POST /v1/traces: OTLP/HTTP trace export, protobuf or JSON, gzip or not.

Answers as the OTLP spec asks, because exporters act on the status alone: 200 with an
`ExportTraceServiceResponse` in the request's content type (with `partialSuccess` when
some spans were rejected; the exporter does not retry those); 400 for a body that cannot
be decoded (final: nothing from it is stored); 413 over the size cap; 503 + Retry-After
when the database is busy (exporters retry only 429, 502, 503 and 504). Error bodies keep
Onset's JSON error shape.
"""

from __future__ import annotations

import time

import orjson
from flask import Blueprint, Response, current_app, request
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTracePartialSuccess,
    ExportTraceServiceResponse,
)

from server import metrics
from server.api.overload import answer_transient_trouble_with_503
from server.auth import requires
from server.errors import UnsupportedMediaType
from server.ingest.body import read_body
from server.ingest.otlp import TraceResult, ingest_traces
from server.ingest.otlp.decode import spans_from_json, spans_from_protobuf

bp = Blueprint("otlp", __name__)
answer_transient_trouble_with_503(bp)

PROTOBUF_TYPES = ("application/x-protobuf", "application/protobuf")
JSON_TYPE = "application/json"


def export_response(mime: str, result: TraceResult) -> Response:
    """The ExportTraceServiceResponse of `result` in `mime`; empty when nothing was rejected."""
    if mime == JSON_TYPE:
        body: dict = {}
        if result.rejected:
            # int64 is a decimal string in OTLP/JSON (either is accepted when reading).
            body["partialSuccess"] = {"rejectedSpans": str(result.rejected), "errorMessage": result.error_message}
        return Response(orjson.dumps(body), status=200, mimetype=JSON_TYPE)
    message = ExportTraceServiceResponse()
    if result.rejected:
        message.partial_success.CopyFrom(ExportTracePartialSuccess(rejected_spans=result.rejected,
                                                                   error_message=result.error_message))
    return Response(message.SerializeToString(), status=200, content_type=mime)


@bp.post("/v1/traces")
@requires("ingest")
def post_traces():
    settings = current_app.config["ONSET"]
    mime = (request.content_type or "").split(";", 1)[0].strip().lower()
    if mime not in (*PROTOBUF_TYPES, JSON_TYPE):
        raise UnsupportedMediaType("send Content-Type: application/x-protobuf or application/json",
                                   {"Content-Type": [f"got {mime or 'none'}"]})
    body = read_body(request.stream, request.headers.get("Content-Encoding"), settings.max_body_bytes)
    spans = spans_from_json(body) if mime == JSON_TYPE else spans_from_protobuf(body)
    result = ingest_traces(spans, settings, time.time())
    metrics.ingested("spans", result.accepted, result.rejected)
    return export_response(mime, result)
