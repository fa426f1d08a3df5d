"""The one outcome helper every channel shares (alertmanager's `Retrier.Check`), and the
backoff schedule. Pure: the clock and the random source are passed in.

`Retrier.check(result)` turns what came back from one attempt into an `Outcome`: done,
retry or give up, with a named reason. A channel differs only in which extra statuses it
retries and how it reads an error detail out of a body.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

from server.notify.model import SendResult

DONE, RETRY, GIVE_UP = "done", "retry", "give_up"
MAX_DETAIL = 300


@dataclass(frozen=True)
class Outcome:
    action: str  # done | retry | give_up
    reason: str  # delivered | server_error | rate_limited | timeout | connection_failed | rejected | ...
    detail: str = ""
    retry_after: float | None = None


def body_detail(status: int, body: str) -> str:
    return " ".join(body.split())[:MAX_DETAIL]


@dataclass(frozen=True)
class Retrier:
    """`retry_codes`: statuses retried besides every 5xx. `details` reads a short error
    detail out of a failed answer's body (default: the body's first characters)."""

    retry_codes: frozenset[int] = frozenset({408, 429})
    details: Callable[[int, str], str] = body_detail

    def check(self, result: SendResult) -> Outcome:
        if result.status is None:
            error = result.error or "no answer"
            reason = "timeout" if "timed out" in error.lower() or "timeout" in error.lower() else "connection_failed"
            return Outcome(RETRY, reason, error[:MAX_DETAIL])
        status = result.status
        if 200 <= status < 300:
            return Outcome(DONE, "delivered")
        detail = f"HTTP {status}"
        extra = self.details(status, result.body or "")
        if extra:
            detail += f": {extra}"
        if status == 429:
            return Outcome(RETRY, "rate_limited", detail, result.retry_after)
        if status >= 500:
            return Outcome(RETRY, "server_error", detail, result.retry_after)
        if status in self.retry_codes:
            return Outcome(RETRY, "retryable_status", detail, result.retry_after)
        # Any other 4xx (and 1xx/3xx, which a webhook should never answer) will not get better.
        return Outcome(GIVE_UP, "rejected", detail)


@dataclass(frozen=True)
class Backoff:
    first: float
    most: float
    give_up_after: float


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date; None when
    absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(value)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment is None:
        return None
    return max(0.0, moment.timestamp() - now)


def next_attempt_at(outcome: Outcome, attempt: int, created_at: float, now: float, backoff: Backoff,
                    rng: random.Random | None = None) -> tuple[float | None, str]:
    """When to try again after failed attempt number `attempt` (1-based), or None to give up,
    with the reason. Exponential backoff with equal jitter (half fixed, half random, so that
    retries after a shared outage spread out); a Retry-After is honoured as the earliest time."""
    if outcome.action == DONE:
        return None, outcome.reason
    if outcome.action == GIVE_UP:
        return None, outcome.reason
    gave_up = f"gave_up_after_{backoff.give_up_after:g}s"
    deadline = created_at + backoff.give_up_after
    if now >= deadline:
        return None, gave_up
    rng = rng or random.Random()
    delay = min(backoff.most, backoff.first * 2 ** max(0, attempt - 1))
    delay = delay / 2 + rng.uniform(0, delay / 2)
    if outcome.retry_after is not None:
        if now + outcome.retry_after > deadline:
            return None, gave_up  # the receiver asked us to wait past the give-up time
        delay = max(delay, outcome.retry_after)
    # The last attempt happens at the deadline rather than never.
    return min(now + delay, deadline), outcome.reason
