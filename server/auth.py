"""API keys on requests: `Authorization: Bearer <key>`, scopes, and the @requires decorator.

Routes for senders that cannot send a bearer token as they like (Alertmanager, Grafana)
also take HTTP basic auth carrying the key as the password: `@requires(scope, basic=True)`.

Scopes: `ingest` writes telemetry; `read` sees; `respond` changes incidents (and reads);
`agent` reads and runs plans (`/v1/plans`), changing nothing unless the key also has
`respond`; `admin` does everything. Every authenticated request spends one request of its key's
budget for the scope (`server.ratelimit`). A verified key is cached briefly per process so ingest does not
pay a database round trip per batch; a revoked key stops working within CACHE_SECONDS.
"""

from __future__ import annotations

import base64
import binascii
import functools
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from flask import g, request

from server import ratelimit
from server.errors import Forbidden, Unauthorized
from server.store import keys
from server.store.keys import KeyInfo

CACHE_SECONDS = 5.0
_IMPLIED = {
    "admin": {"ingest", "read", "respond", "agent", "admin"},
    "respond": {"read", "respond"},
    "agent": {"read", "agent"},
    "read": {"read"},
    "ingest": {"ingest"},
}

F = TypeVar("F", bound=Callable[..., Any])
_cache: dict[str, tuple[float, KeyInfo]] = {}
# Apart from _cache: a client sending some text as a key must never hit a hashed entry.
_hashed_cache: dict[tuple[str, str], tuple[float, KeyInfo]] = {}
_cache_lock = threading.Lock()


def grants(key_scopes: tuple[str, ...], needed: str) -> bool:
    return any(needed in _IMPLIED.get(scope, {scope}) for scope in key_scopes)


def granted_scopes(key_scopes: tuple[str, ...]) -> list[str]:
    """Every scope `key_scopes` grant, implied ones included, sorted (capabilities)."""
    return sorted({s for scope in key_scopes for s in _IMPLIED.get(scope, {scope})})


BEARER_CHALLENGE = 'Bearer realm="onset"'
BASIC_CHALLENGE = 'Bearer realm="onset", Basic realm="onset"'


def key_from_request(*, basic: bool = False) -> str | None:
    """The key of `Authorization: Bearer <key>`, or with `basic` also the password of
    `Authorization: Basic base64(<anything>:<key>)` (the username is ignored)."""
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    if basic and scheme.lower() == "basic":
        return _basic_password(value.strip())
    return None


def _basic_password(credentials: str) -> str | None:
    try:
        decoded = base64.b64decode(credentials, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    _, colon, password = decoded.partition(":")
    return password if colon and password else None


def lookup(key: str) -> KeyInfo | None:
    return _cached(_cache, key, lambda: keys.verify_key(key))


def lookup_hashed(key_id: str, key_hash: str) -> KeyInfo | None:
    """`lookup` for a caller that keeps only a key's id and SHA-256 (the dashboard's session
    cookie, so that the key itself never sits in a cookie); cached and revoked the same way."""
    return _cached(_hashed_cache, (key_id, key_hash), lambda: keys.verify_key_hash(key_id, key_hash))


def _cached(cache: dict, cache_key: Any, verify: Callable[[], KeyInfo | None]) -> KeyInfo | None:
    now = time.monotonic()
    hit = cache.get(cache_key)
    if hit is not None and hit[0] > now:
        return hit[1]
    info = verify()
    with _cache_lock:
        if len(cache) > 10_000:
            cache.clear()
        if info is not None:
            cache[cache_key] = (now + CACHE_SECONDS, info)
        else:
            cache.pop(cache_key, None)
    return info


def forget_cached_keys() -> None:
    with _cache_lock:
        _cache.clear()
        _hashed_cache.clear()


def authenticate(scope: str, key: str | None, *, basic: bool = False) -> KeyInfo:
    """The key's info when it grants `scope`; raises Unauthorized or Forbidden otherwise.
    `basic` says the route also takes the key by basic auth (so its 401 offers both)."""
    challenge = {"WWW-Authenticate": BASIC_CHALLENGE if basic else BEARER_CHALLENGE}
    if key is None:
        how = "Authorization: Bearer <key>" + (", or basic auth with the key as password" if basic else "")
        raise Unauthorized(f"send an API key as {how}", headers=challenge)
    info = lookup(key)
    if info is None:
        raise Unauthorized("unknown or revoked API key", headers=challenge)
    if not grants(info.scopes, scope):
        raise Forbidden(f"this key lacks the {scope!r} scope", {"scope": [f"needs {scope}"]})
    ratelimit.enforce(scope, info.key_id)  # per key and scope; raises RateLimited (429)
    return info


def requires(scope: str, *, basic: bool = False) -> Callable[[F], F]:
    """Guard a view: the request must carry a key granting `scope` (with `basic`, by bearer or
    basic auth). Sets `g.key`."""

    def decorate(view: F) -> F:
        @functools.wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            g.key = authenticate(scope, key_from_request(basic=basic), basic=basic)
            return view(*args, **kwargs)

        wrapper.required_scope = scope  # type: ignore[attr-defined]
        return wrapper  # type: ignore[return-value]

    return decorate


def public(view: F) -> F:
    """Mark a view as needing no key (liveness and readiness only)."""
    view.required_scope = None  # type: ignore[attr-defined]
    return view
