"""POST /v1/plans/execute (scope agent): run a template or explicit tool steps, server-side.
GET /v1/plans/{plan_id} (scope agent): a run as stored.

The answer carries `X-Plan-ID`. With `Accept: text/event-stream` it is a stream of
Server-Sent Events: `plan` (the steps to run), `step` (each step starting, then its
outcome), `done` (the whole result). With an `Idempotency-Key` header, a repeat of the same
body by the same API key returns the stored result (`Idempotent-Replayed: true`) and runs
nothing; the same key with another body is a 422, and a repeat while the first still runs
a 409. The result is stored before it is sent.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, request, stream_with_context

from server.api.ingest import json_payload
from server.auth import grants, requires
from server.errors import ApiError, NotFound, ValidationFailed, json_response
from server.plans.model import Plan
from server.plans.parse import parse_plan
from server.plans.runner import run_plan
from server.plans.tools import ToolContext
from server.store import plan_runs
from server.store.plan_runs import RUNNING, PlanRun
from server.timefmt import iso

bp = Blueprint("plans", __name__)

PLAN_HEADER = "X-Plan-ID"
REPLAYED_HEADER = "Idempotent-Replayed"
# A `running` claim older than this belongs to a process that died: a retry may take it over.
STALE_RUN_SECONDS = 300.0
_KEY_CHARS = set(map(chr, range(0x21, 0x7F)))


def _idempotency_key() -> str | None:
    raw = request.headers.get("Idempotency-Key")
    if raw is None:
        return None
    key = raw.strip().strip('"')  # the IETF draft sends it as a quoted string; plain text is common
    if not 1 <= len(key) <= 255 or not set(key) <= _KEY_CHARS:
        raise ValidationFailed("bad Idempotency-Key", {"Idempotency-Key": ["must be 1-255 visible ASCII characters"]})
    return key


def _wants_stream() -> bool:
    return request.accept_mimetypes.best_match(["application/json", "text/event-stream"]) == "text/event-stream"


def request_hash_of(payload: Any) -> str:
    return "sha256:" + hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


def sse(event: str, data: Any) -> bytes:
    # orjson writes one line, so one `data:` field carries the whole JSON value.
    return b"event: " + event.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


def _head(run: PlanRun, plan: Plan) -> dict[str, Any]:
    return {"plan_id": run.id, "template": plan.template, "params": plan.params, "created_at": iso(run.created_at)}


def _execute(run: PlanRun, plan: Plan, ctx: ToolContext) -> Iterator[tuple[str, dict[str, Any]]]:
    """run_plan's events, the `done` one completed with the run's head and stored first."""
    head = _head(run, plan)
    finished = False
    try:
        for event, data in run_plan(plan, ctx):
            if event == "done":
                finished_at = time.time()
                data = {**head, **data, "finished_at": iso(finished_at)}
                plan_runs.finish(run.id, data["status"], data, finished_at)
                finished = True
            yield event, data
    finally:
        if not finished:  # the client went away mid-plan (or a bug): nothing was answered, nothing is kept
            plan_runs.abandon(run.id)


def _stream(run: PlanRun, plan: Plan, ctx: ToolContext) -> Iterator[bytes]:
    yield sse("plan", {**_head(run, plan), "steps": [{"index": i, "tool": s.tool} for i, s in enumerate(plan.steps)]})
    for event, data in _execute(run, plan, ctx):
        yield sse(event, data)


def _replay_stream(result: dict[str, Any]) -> Iterator[bytes]:
    head = {k: result.get(k) for k in ("plan_id", "template", "params", "created_at")}
    yield sse("plan", {**head, "steps": [{"index": s["index"], "tool": s["tool"]} for s in result["steps"]],
                       "replayed": True})
    for outcome in result["steps"]:
        yield sse("step", outcome)
    yield sse("done", result)


def _event_stream(body: Iterator[bytes], headers: dict[str, str]) -> Response:
    return Response(stream_with_context(body), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no", **headers})


def _answer_earlier(run: PlanRun, request_hash: str) -> Response:
    if run.request_hash != request_hash:
        raise ApiError("this Idempotency-Key was used with another plan body", {
            "Idempotency-Key": [f"already used for plan {run.id} with a different body"]},
            status=422, code="idempotency_key_reused")
    if run.status == RUNNING:
        raise ApiError(f"plan {run.id} with this Idempotency-Key is still running; retry shortly", {
            "Idempotency-Key": ["a plan with this key is running"]}, status=409, code="conflict",
            headers={"Retry-After": "1", PLAN_HEADER: run.id})
    headers = {PLAN_HEADER: run.id, REPLAYED_HEADER: "true"}
    if _wants_stream():
        return _event_stream(_replay_stream(run.result), headers)
    return json_response(run.result, headers=headers)


@bp.post("/v1/plans/execute")
@requires("agent")
def execute_plan():
    payload = json_payload()
    plan = parse_plan(payload)
    idempotency_key = _idempotency_key()
    request_hash = request_hash_of(payload)
    now = time.time()
    run, mine = plan_runs.claim(g.key.key_id, idempotency_key, request_hash, payload, now, STALE_RUN_SECONDS)
    if not mine:
        return _answer_earlier(run, request_hash)
    ctx = ToolContext(current_app.config["ONSET"], now)
    if _wants_stream():
        return _event_stream(_stream(run, plan, ctx), {PLAN_HEADER: run.id})
    result = None
    for event, data in _execute(run, plan, ctx):
        result = data if event == "done" else result
    return json_response(result, headers={PLAN_HEADER: run.id})


@bp.get("/v1/plans/<plan_id>")
@requires("agent")
def get_plan(plan_id: str):
    run = plan_runs.get_run(plan_id)
    # Another key's runs are not this key's to see, unless it is an admin key.
    if run is None or (run.key_id != g.key.key_id and not grants(g.key.scopes, "admin")):
        raise NotFound(f"no plan {plan_id}", {"plan_id": ["unknown"]})
    body = run.result if run.result is not None else {"plan_id": run.id, "status": run.status,
                                                      "created_at": iso(run.created_at)}
    return json_response(body, headers={PLAN_HEADER: run.id})
