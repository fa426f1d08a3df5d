"""The wide event of the unit of work in progress, and the rules that finish it.

A request's event is a plain dict (the `/v1/events` item shape) held in a context
variable while the request runs, so handler code can add fields through
`current_event()` and outgoing calls can find the trace they belong to. Top-level
fields Onset does not know are kept by the server under `attributes`.
"""

from __future__ import annotations

import builtins
from contextvars import ContextVar
from typing import Any

# error_code precedence: an explicit set_error_code, else the exception type, else the HTTP status.
_BUILTIN_NAMES = frozenset(dir(builtins))


class RequestSpan:
    """What the SDK tracks for one request beyond its event."""

    __slots__ = ("event", "exception_code")

    def __init__(self, event: dict[str, Any]):
        self.event = event
        self.exception_code: str | None = None


_current: ContextVar[RequestSpan | None] = ContextVar("onset_sdk_request", default=None)


def current_span() -> RequestSpan | None:
    return _current.get()


def current_event() -> dict[str, Any]:
    """The event of the request being handled: add fields to it (`current_event()["cart_size"] = 3`).

    Outside a request it returns a fresh dict that goes nowhere, so handler code never
    has to check.
    """
    span = _current.get()
    return span.event if span is not None else {}


def set_error_code(code: str) -> None:
    """Mark the current request failed with `code`; wins over the exception type and HTTP status."""
    span = _current.get()
    if span is not None and code:
        span.event["error_code"] = str(code)[:128]


def set_user_id(user_id: str | None) -> None:
    """Name the user of the current request (wins over the `user_id` hook)."""
    span = _current.get()
    if span is not None and user_id is not None:
        span.event["user_id"] = str(user_id)[:256]


def set_step(step: str) -> None:
    """Name the current request's step (route or operation) when the framework cannot."""
    span = _current.get()
    if span is not None and step:
        span.event["step"] = str(step)[:256]


def error_code_of(exc: BaseException) -> str:
    """An exception's type as an error code: bare for builtins, module-qualified otherwise."""
    cls = type(exc)
    if cls.__module__ == "builtins" and cls.__name__ in _BUILTIN_NAMES:
        return cls.__qualname__
    return f"{cls.__module__}.{cls.__qualname__}"[:128]


def error_code_for_status(status: int) -> str:
    return f"http_{status}"


def finish_request(span: RequestSpan, status: int | None, duration_ms: float) -> dict[str, Any]:
    """Status, error code and duration of a finished request, by the precedence rule.

    A request is an error when handler code said so, when it raised, or when it answered
    5xx; a 4xx is the caller's mistake and stays `ok`.
    """
    event = span.event
    if event.get("error_code"):  # only handler code puts one there before the request ends
        event["status"] = "error"
    elif span.exception_code is not None:
        event["status"] = "error"
        event["error_code"] = span.exception_code
    elif status is not None and status >= 500:
        event["status"] = "error"
        event["error_code"] = error_code_for_status(status)
    else:
        event["status"] = "ok"
        event.pop("error_code", None)
    event["duration_ms"] = round(duration_ms, 3)
    if status is not None:
        attributes = event.get("attributes")
        if attributes is None:
            event["attributes"] = {"http.status_code": status}
        else:
            attributes.setdefault("http.status_code", status)
    return event
