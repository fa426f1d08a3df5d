"""Transient trouble answered so that senders retry: 503 + `Retry-After`.

A busy or unreachable database is transient; a 500 would make an OTLP exporter or
Alertmanager drop what it sent. Alertmanager also treats every 4xx as final, 429
included, so routes registered with `never_429` turn a rate limit into a 503 as well.
"""

from __future__ import annotations

import logging

import peewee
from flask import Blueprint, Response
from werkzeug.exceptions import TooManyRequests

from server.errors import ApiError, Overloaded
from server.store import db as store

log = logging.getLogger("onset.overload")

RETRY_AFTER_SECONDS = 5
_SQLITE_TRANSIENT = ("locked", "busy", "disk i/o", "unable to open")


def transient(exc: Exception) -> bool:
    """A store error that a retry can cure: a lost or refused connection, a lock timeout, a
    serialization failure (PostgreSQL reports all of these as operational errors); not a
    bug such as an unknown column, which SQLite also reports as operational."""
    if isinstance(exc, peewee.InterfaceError):
        return True
    if not isinstance(exc, peewee.OperationalError):
        return False
    if store.is_postgres():
        return True
    return any(word in str(exc).lower() for word in _SQLITE_TRANSIENT)


def _retry_after(exc: ApiError | TooManyRequests) -> int:
    raw = exc.retry_after if isinstance(exc, TooManyRequests) else exc.headers.get("Retry-After", "")
    return int(raw) if isinstance(raw, int) or str(raw).isdigit() else RETRY_AFTER_SECONDS


def answer_transient_trouble_with_503(bp: Blueprint, *, never_429: bool = False) -> None:
    """Register the blueprint's handlers: transient store errors become 503 + Retry-After;
    with `never_429`, so does any 429 raised under it."""

    @bp.errorhandler(peewee.OperationalError)
    @bp.errorhandler(peewee.InterfaceError)
    def _store_trouble(exc: peewee.PeeweeException) -> Response:
        if not transient(exc):
            raise exc  # a bug: the app's handler logs it and answers 500
        log.warning("database unavailable, answering 503: %s", exc)
        return Overloaded("the database is busy or unreachable; retry", RETRY_AFTER_SECONDS).response()

    if never_429:
        @bp.errorhandler(ApiError)
        def _api_error(exc: ApiError) -> Response:
            if exc.status == 429:
                return Overloaded(exc.message, _retry_after(exc)).response()
            return exc.response()

        @bp.errorhandler(TooManyRequests)
        def _too_many(exc: TooManyRequests) -> Response:
            return Overloaded(exc.description or "over a rate limit; retry", _retry_after(exc)).response()
