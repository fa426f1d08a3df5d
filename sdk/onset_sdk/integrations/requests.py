"""`requests`: propagate `traceparent` and record each outgoing call as a dependency event.

The event is the CLIENT side of the call: `kind=dependency`, `peer` the target service
(named by `service_map`, else host:port), status, error code and duration, as a child
of the request in progress. That is what lets the engine tell "the call to payment
failed" from "checkout failed". A CLIENT call is an error on a 4xx too (the caller got
nothing usable), on a 5xx, and when it raised (the exception type is the code).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

import requests

from onset_sdk import client as client_module
from onset_sdk.event import current_span, error_code_for_status, error_code_of
from onset_sdk.internal import capture_internal_exceptions
from onset_sdk.trace import format_traceparent, new_span_id, new_trace_id

_UNPATCHED = requests.Session.send
_original_send = None
_perf = time.perf_counter


def install() -> None:
    """Patch `requests.Session.send` once; uninstall() restores it."""
    global _original_send
    if _original_send is not None:
        return
    _original_send = requests.Session.send
    requests.Session.send = _send  # type: ignore[method-assign]


def uninstall() -> None:
    global _original_send
    if _original_send is not None:
        requests.Session.send = _original_send  # type: ignore[method-assign]
        _original_send = None


def _send(self: requests.Session, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
    send = _original_send or _UNPATCHED  # uninstalled while this call was on its way
    client = client_module._client
    if client is None or getattr(self, "_onset_internal", False):
        return send(self, request, **kwargs)
    event = None
    with capture_internal_exceptions():
        event = _start(client, request)
    if event is None:
        return send(self, request, **kwargs)
    started = _perf()
    try:
        response = send(self, request, **kwargs)
    except BaseException as exc:
        with capture_internal_exceptions():
            event["status"] = "error"
            event["error_code"] = error_code_of(exc)
            _finish(client, event, started)
        raise
    with capture_internal_exceptions():
        status = response.status_code
        event["attributes"]["http.status_code"] = status
        if status >= 400:
            event["status"] = "error"
            event["error_code"] = error_code_for_status(status)
        else:
            event["status"] = "ok"
        _finish(client, event, started)
    return response


def _start(client: client_module.Client, request: requests.PreparedRequest) -> dict[str, Any] | None:
    url = urlsplit(request.url or "")
    if client.is_onset(url.netloc):
        return None  # never record the SDK's own traffic, whoever sends it
    parent = current_span()
    event = client.new_event("dependency")
    if parent is not None:
        event["trace_id"] = parent.event["trace_id"]
        event["parent_span_id"] = parent.event["span_id"]
    else:
        event["trace_id"] = new_trace_id()
    event["span_id"] = new_span_id()
    peer = client.peer_for(url.netloc)
    method = (request.method or "GET").upper()
    event["peer"] = peer[:256]
    event["step"] = f"{method} {peer}"[:256]
    event["attributes"] = {"url.path": url.path or "/"}
    # The callee's request span becomes a child of this call's span.
    request.headers["traceparent"] = format_traceparent(event["trace_id"], event["span_id"])
    if parent is not None and "user_id" in parent.event:
        event["user_id"] = parent.event["user_id"]
    return event


def _finish(client: client_module.Client, event: dict[str, Any], started: float) -> None:
    event["duration_ms"] = round((_perf() - started) * 1000, 3)
    client.capture_event(event)
