"""The one JSON error shape, and the mapping from exceptions to responses.

Every error body is `{"error": {"code", "message", "fields"}}`. Business code raises
`ApiError` subclasses or returns field errors; nothing below `api/` knows about HTTP.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from flask import Flask, Response
from werkzeug.exceptions import HTTPException

log = logging.getLogger("onset.errors")


def error_body(code: str, message: str, fields: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "fields": fields or {}}}


def json_response(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    response = Response(orjson.dumps(payload), status=status, mimetype="application/json")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


class ApiError(Exception):
    """An error the client can act on. `fields` maps each bad field to its messages."""

    status = 400
    code = "bad_request"

    def __init__(self, message: str, fields: dict[str, Any] | None = None, *,
                 status: int | None = None, code: str | None = None,
                 headers: dict[str, str] | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.headers = headers or {}

    def response(self) -> Response:
        return json_response(error_body(self.code, self.message, self.fields), self.status, self.headers)


class ValidationFailed(ApiError):
    status = 400
    code = "validation_failed"


class Unauthorized(ApiError):
    status = 401
    code = "unauthorized"


class Forbidden(ApiError):
    status = 403
    code = "forbidden"


class NotFound(ApiError):
    status = 404
    code = "not_found"


class PayloadTooLarge(ApiError):
    status = 413
    code = "payload_too_large"


class UnsupportedMediaType(ApiError):
    status = 415
    code = "unsupported_media_type"


class Overloaded(ApiError):
    """Transient trouble: the sender should retry after `retry_after` seconds."""

    status = 503
    code = "overloaded"

    def __init__(self, message: str, retry_after: int = 1, status: int = 503):
        super().__init__(message, status=status, headers={"Retry-After": str(retry_after)})


class RateLimited(ApiError):
    """Over a rate limit: 429 + `Retry-After` (routes whose senders drop data on a 429 turn it
    into a 503 in `api.overload`)."""

    status = 429
    code = "rate_limited"

    def __init__(self, message: str, retry_after: int = 1, fields: dict[str, Any] | None = None):
        super().__init__(message, fields, headers={"Retry-After": str(retry_after)})


_HTTP_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
    405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 411: "length_required",
    413: "payload_too_large", 415: "unsupported_media_type", 429: "rate_limited",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def _api_error(exc: ApiError) -> Response:
        return exc.response()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        status = exc.code or 500
        code = _HTTP_CODES.get(status, "http_error")
        headers = {}
        if status == 405 and getattr(exc, "valid_methods", None):
            headers["Allow"] = ", ".join(exc.valid_methods)
        return json_response(error_body(code, exc.description or exc.name), status, headers)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        # A 500 is a bug: clients drop data on it. Log loudly, answer in the same shape.
        log.exception("unhandled error")
        return json_response(error_body("internal_error", "internal error; see the server log"), 500)
