"""GET /v1/blast?service=&env=&step=&error_code=&window=: how bad a failure is, right now."""

from __future__ import annotations

import re
import time

from flask import Blueprint, current_app, request

from server.auth import requires
from server.errors import ValidationFailed, json_response
from server.evidence.blast import blast_radius
from server.timefmt import iso

bp = Blueprint("blast", __name__)

MAX_WINDOW_SECONDS = 7 * 86400
_WINDOW = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_window(raw: str | None, default: float, smallest: float) -> float:
    """`window` as seconds: `90`, `90s`, `15m`, `2h`, `1d`; `default` when None. Raises
    ValidationFailed naming `window`."""
    if raw is None:
        return default
    match = _WINDOW.match(str(raw).strip())
    seconds = float(match.group(1)) * _UNITS[match.group(2)] if match else None
    if seconds is None or not smallest <= seconds <= MAX_WINDOW_SECONDS:
        raise ValidationFailed("bad window", {"window": [
            f"must be a duration like 300, 90s, 15m, 2h or 1d, from {smallest:g}s to 7d"]})
    return seconds


def window_arg(default: float, smallest: float) -> float:
    """The request's `window` argument as seconds (see parse_window)."""
    return parse_window(request.args.get("window"), default, smallest)


def blast_body(filters: dict[str, str | None], window: float, bucket: float, now: float) -> dict:
    """The answer of GET /v1/blast for `filters` (service, env, step, error_code; None: any)
    over the `window` seconds before `now`. The REST view and agent plans share it."""
    body = blast_radius(**filters, now=now, window_seconds=window, bucket=bucket)
    body["sample_traces"] = [{"trace_id": s["trace_id"], "time": iso(s["ts"])} for s in body["sample_traces"]]
    body["by_family"] = [{**{k: v for k, v in f.items() if k != "first_error_ts"},
                          "first_error": iso(f["first_error_ts"])} for f in body["by_family"]]
    body.pop("version", None)
    return {"query": {**filters, "window_seconds": window, "since": iso(now - window), "until": iso(now)}, **body}


@bp.get("/v1/blast")
@requires("read")
def get_blast():
    settings = current_app.config["ONSET"]
    window = window_arg(settings.window_seconds, settings.bucket_seconds)
    filters = {name: request.args.get(name) or None for name in ("service", "env", "step", "error_code")}
    return json_response(blast_body(filters, window, settings.bucket_seconds, time.time()))
