"""Run a plan's steps in order, reporting each as it starts and ends.

`run_plan` is a generator of `(event, data)`: `("step", {"index", "tool", "status": "running"})`
before a step, `("step", outcome)` after it, and `("done", {"status", "steps"})` last. An
outcome's status is `ok` (with `result`), `failed` (with `error`: code, message, fields),
`skipped` (an optional step whose reference found nothing, with `reason`) or `not_run`
(after a failed step). A failed step that is not optional stops the plan and fails it.
A tool that crashes is a failed step (logged), never a broken stream.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

from server.errors import ApiError
from server.plans.model import Plan, Step
from server.plans.references import MissingReference, resolve
from server.plans.tools import PLAN_TOOLS, ToolContext, load_args

log = logging.getLogger("onset.plans")

SUCCEEDED, FAILED = "succeeded", "failed"


def _error(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "fields": fields or {}}


def run_step(step: Step, results: list[Any], ctx: ToolContext) -> dict[str, Any]:
    """The outcome of one step (without index and timing): status and result, error or reason."""
    try:
        args = resolve(step.args, results)
    except MissingReference as exc:
        if step.optional:
            return {"status": "skipped", "args": step.args, "reason": f"nothing at {exc}"}
        return {"status": "failed", "args": step.args, "error": _error("missing_reference", f"nothing at {exc}")}
    tool = PLAN_TOOLS[step.tool]
    try:
        return {"status": "ok", "args": args, "result": tool.run(load_args(tool, args), ctx)}
    except ApiError as exc:
        return {"status": "failed", "args": args, "error": _error(exc.code, exc.message, exc.fields)}
    except Exception:
        log.exception("plan tool %s crashed", step.tool)
        return {"status": "failed", "args": args, "error": _error("internal_error", "the tool failed; see the server log")}


def run_plan(plan: Plan, ctx: ToolContext,
             clock: Callable[[], float] = time.perf_counter) -> Iterator[tuple[str, dict[str, Any]]]:
    results: list[Any] = []
    outcomes: list[dict[str, Any]] = []
    failed = False
    for index, step in enumerate(plan.steps):
        head = {"index": index, "tool": step.tool}
        if failed:
            outcome = {**head, "status": "not_run", "args": step.args, "reason": "an earlier step failed"}
        else:
            yield "step", {**head, "status": "running"}
            started = clock()
            outcome = {**head, **run_step(step, results, ctx), "duration_ms": round((clock() - started) * 1000, 1)}
            failed = outcome["status"] == "failed" and not step.optional
        results.append(outcome.get("result"))
        outcomes.append(outcome)
        yield "step", outcome
    yield "done", {"status": FAILED if failed else SUCCEEDED, "steps": outcomes}
