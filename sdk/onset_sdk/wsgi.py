"""WSGI middleware: one wide event per request.

Works with any WSGI app; frameworks name the step (route template) through
`set_step()`, which the Flask integration does. Without a framework the step is the
method and raw path. The event is finished when the app returns its response
iterable, so streaming time is not in `duration_ms`. The request path is kept short:
everything here runs on every request of the host app.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import Any

from onset_sdk import client as client_module
from onset_sdk import internal
from onset_sdk.event import RequestSpan, _current, error_code_of, finish_request
from onset_sdk.trace import new_span_id, new_trace_id, parse_traceparent

_perf = time.perf_counter


class OnsetMiddleware:
    """Wrap a WSGI app: `app.wsgi_app = OnsetMiddleware(app.wsgi_app)`."""

    def __init__(self, app: Callable[..., Iterable[bytes]]):
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        client = client_module._client
        if client is None:
            return self.app(environ, start_response)
        try:
            span = _start(client, environ)
            token = _current.set(span)
        except Exception:
            internal.capture_internal_exception(sys.exc_info())
            return self.app(environ, start_response)
        statuses: list[str] = []

        def _start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            statuses.append(status)
            return start_response(status, headers, exc_info)

        started = _perf()
        try:
            result = self.app(environ, _start_response)
        except BaseException as exc:
            if span.exception_code is None:
                span.exception_code = error_code_of(exc)
            _finish(client, span, environ, 500, started, token)
            raise
        _finish(client, span, environ, int(statuses[-1][:3]) if statuses else None, started, token)
        return result


def _start(client: client_module.Client, environ: dict[str, Any]) -> RequestSpan:
    event = client.new_event("request")
    header = environ.get("HTTP_TRACEPARENT")
    parent = parse_traceparent(header) if header else None
    if parent is None:
        event["trace_id"] = new_trace_id()
    else:
        event["trace_id"], event["parent_span_id"] = parent
    event["span_id"] = new_span_id()
    return RequestSpan(event)


def _finish(client: client_module.Client, span: RequestSpan, environ: dict[str, Any], status: int | None,
            started: float, token: Any) -> None:
    """Complete and queue the event; never raises (an SDK bug is captured, the request goes on)."""
    try:
        _current.reset(token)
        event = finish_request(span, status, (_perf() - started) * 1000)
        if "step" not in event:
            event["step"] = f"{environ.get('REQUEST_METHOD', 'GET')} {environ.get('PATH_INFO') or '/'}"[:256]
        hook = client.user_id_hook
        if hook is not None and "user_id" not in event:
            try:
                user = hook(environ)
            except Exception:  # the app's hook failing is the app's bug; the request still counts
                user = None
            if user is not None:
                event["user_id"] = str(user)[:256]
        client.capture_event(event)
    except Exception:
        internal.capture_internal_exception(sys.exc_info())
