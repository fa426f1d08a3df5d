"""Flask: the WSGI middleware plus the route template as `step` and the handler's exception.

The step is read when Flask starts preprocessing the request: the URL is matched by then,
and no `before_request` hook of the app can answer first and leave it unnamed. Flask
turns an exception into a 500 itself, so the middleware never sees it raised;
`got_request_exception` hands it over. This module imports Flask: only apps that call
`onset_sdk.instrument_flask(app)` load it.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, got_request_exception, request

from onset_sdk.event import _current, error_code_of
from onset_sdk.internal import capture_internal_exceptions
from onset_sdk.wsgi import OnsetMiddleware


def instrument(app: Flask) -> Flask:
    """Instrument `app` once (again is a no-op); returns it."""
    if getattr(app, "_onset_instrumented", False):
        return app
    app.wsgi_app = OnsetMiddleware(app.wsgi_app)  # type: ignore[method-assign]
    preprocess = app.preprocess_request

    def preprocess_request() -> Any:
        span = _current.get()
        if span is not None and "step" not in span.event:
            with capture_internal_exceptions():
                req = request._get_current_object()  # once: each access through the proxy costs ~1 us
                rule = req.url_rule
                span.event["step"] = f"{req.method} {rule.rule if rule is not None else '<unmatched>'}"
        return preprocess()

    app.preprocess_request = preprocess_request  # type: ignore[method-assign]
    got_request_exception.connect(_record_exception, app, weak=False)
    app._onset_instrumented = True  # type: ignore[attr-defined]
    return app


def _record_exception(sender: Any, exception: BaseException, **extra: Any) -> None:
    span = _current.get()
    if span is not None and span.exception_code is None:
        with capture_internal_exceptions():
            span.exception_code = error_code_of(exception)
