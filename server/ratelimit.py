"""Rate limits per API key and per scope, with the `limits` library.

A key has one budget per scope it uses (`ingest`, `read`, `agent`): hammering the ingest
routes does not spend its read budget, and nothing one key does spends another key's.
Routes that need `respond` or `admin` are not limited: people acting on an incident must
never be told to wait. The check runs where the key is authenticated (`auth.authenticate`),
before the body is read, so a refused request costs no parsing and no database write.

Storage: `memory://` counts per process (N gunicorn workers allow N times the rate);
`redis://` shares one budget across every worker and host. When the storage fails, the
request passes (fail open): a Redis outage must not stop ingest. It is logged and counted.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping

from flask import Flask, current_app
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.storage import Storage, storage_from_string
from limits.strategies import SlidingWindowCounterRateLimiter

from server import metrics
from server.config import Settings
from server.errors import RateLimited

log = logging.getLogger("onset.ratelimit")

EXTENSION = "onset.ratelimit"
LIMITED_SCOPES = ("ingest", "read", "agent")
NAMESPACE = "onset"
# A Redis that hangs must not hang every request: give up fast and let the request pass.
REDIS_OPTIONS = {"socket_timeout": 0.5, "socket_connect_timeout": 0.5}
LOG_EVERY_SECONDS = 30.0


def item_for(rps: float) -> RateLimitItem:
    """`rps` requests per second as a limits item: N per second, or 1 per N seconds below 1."""
    if rps >= 1:
        return RateLimitItemPerSecond(round(rps))
    return RateLimitItemPerSecond(1, math.ceil(1 / rps))


def rates_of(settings: Settings) -> dict[str, float]:
    return {"ingest": settings.ratelimit_ingest_rps, "read": settings.ratelimit_read_rps,
            "agent": settings.ratelimit_agent_rps}


def open_storage(url: str) -> Storage:
    options = REDIS_OPTIONS if url.startswith(("redis://", "rediss://", "redis+unix://")) else {}
    return storage_from_string(url, **options)


class RateLimiter:
    """Budgets per (scope, key id). `check` raises RateLimited when the key is over its rate."""

    def __init__(self, rates: Mapping[str, float], storage_url: str, clock: Callable[[], float] = time.time):
        self.items = {scope: item_for(rps) for scope, rps in rates.items() if rps > 0}
        self.storage = open_storage(storage_url)
        self.strategy = SlidingWindowCounterRateLimiter(self.storage)
        self.clock = clock
        self._last_log = 0.0

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimiter | None:
        """None when every scope's limit is off."""
        rates = rates_of(settings)
        return cls(rates, settings.ratelimit_storage) if any(r > 0 for r in rates.values()) else None

    def check(self, scope: str, key_id: str) -> None:
        """Spend one request of `key_id`'s `scope` budget; raises RateLimited when there is none left."""
        item = self.items.get(scope)
        if item is None:
            return
        try:
            allowed = self.strategy.hit(item, NAMESPACE, scope, key_id)
            if allowed:
                return
            reset_at = self.strategy.get_window_stats(item, NAMESPACE, scope, key_id).reset_time
        except Exception as exc:  # fail open: see the module docstring
            self._storage_failed(exc)
            return
        metrics.rate_limited(scope)
        retry_after = max(1, math.ceil(reset_at - self.clock()))
        raise RateLimited(f"this key is over its {scope} rate limit ({item.amount} per "
                          f"{item.multiples * item.GRANULARITY.seconds:g}s); retry after {retry_after}s",
                          retry_after, {"scope": [f"over the {scope} rate limit"]})

    def reachable(self) -> bool:
        """Whether the storage answers (doctor)."""
        try:
            return bool(self.storage.check())
        except Exception:
            return False

    def _storage_failed(self, exc: Exception) -> None:
        metrics.ratelimit_storage_error()
        now = self.clock()
        if now - self._last_log >= LOG_EVERY_SECONDS:
            self._last_log = now
            log.warning("rate-limit storage failed, letting requests through: %s: %s", type(exc).__name__, exc)


def install(app: Flask, settings: Settings) -> None:
    """Give the app its limiter (none when every limit is off)."""
    limiter = RateLimiter.from_settings(settings)
    if limiter is not None:
        app.extensions[EXTENSION] = limiter


def enforce(scope: str, key_id: str) -> None:
    """Spend a request of the current app's limiter; a no-op without one."""
    limiter = current_app.extensions.get(EXTENSION)
    if limiter is not None:
        limiter.check(scope, key_id)
