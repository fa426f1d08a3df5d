"""API keys on requests: `Authorization: Bearer <key>`, scopes, and the @requires decorator.

Scopes: `ingest` writes telemetry; `read` sees; `respond` changes incidents (and reads);
`admin` does everything. A verified key is cached briefly per process so ingest does not
pay a database round trip per batch; a revoked key stops working within CACHE_SECONDS.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from server.errors import Forbidden, Unauthorized
from server.store import keys
from server.store.keys import KeyInfo

CACHE_SECONDS = 5.0
_IMPLIED = {
    "admin": {"ingest", "read", "respond", "admin"},
    "respond": {"read", "respond"},
    "read": {"read"},
    "ingest": {"ingest"},
}

F = TypeVar("F", bound=Callable[..., Any])
_cache: dict[str, tuple[float, KeyInfo]] = {}
_cache_lock = threading.Lock()


def grants(key_scopes: tuple[str, ...], needed: str) -> bool:
    return any(needed in _IMPLIED.get(scope, {scope}) for scope in key_scopes)


def key_from_request() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def lookup(key: str) -> KeyInfo | None:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = keys.verify_key(key)
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        if info is not None:
            _cache[key] = (now + CACHE_SECONDS, info)
        else:
            _cache.pop(key, None)
    return info


def forget_cached_keys() -> None:
    with _cache_lock:
        _cache.clear()


def authenticate(scope: str, key: str | None) -> KeyInfo:
    """The key's info when it grants `scope`; raises Unauthorized or Forbidden otherwise."""
    if key is None:
        raise Unauthorized("send an API key as Authorization: Bearer <key>",
                           headers={"WWW-Authenticate": 'Bearer realm="onset"'})
    info = lookup(key)
    if info is None:
        raise Unauthorized("unknown or revoked API key", headers={"WWW-Authenticate": 'Bearer realm="onset"'})
    if not grants(info.scopes, scope):
        raise Forbidden(f"this key lacks the {scope!r} scope", {"scope": [f"needs {scope}"]})
    return info


def requires(scope: str) -> Callable[[F], F]:
    """Guard a view: the request must carry a key granting `scope`. Sets `g.key`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.key = authenticate(scope, key_from_request())
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as needing no key (liveness and readiness only)."""
    view.required_scope = None  # type: ignore[attr-defined]
    return view
