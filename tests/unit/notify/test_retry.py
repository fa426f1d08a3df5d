"""notify.retry: the one outcome helper every channel shares, and the backoff schedule."""

from __future__ import annotations

import random
from email.utils import formatdate

import pytest

from server.notify import channels
from server.notify.model import SendResult
from server.notify.retry import (
    DONE,
    GIVE_UP,
    RETRY,
    Backoff,
    Outcome,
    Retrier,
    next_attempt_at,
    parse_retry_after,
)

RETRIER = Retrier()
BACKOFF = Backoff(first=2, most=300, give_up_after=3600)
T0 = 1_700_000_000.0


@pytest.mark.parametrize("status", [200, 201, 202, 204])
def test_any_2xx_is_done(status):
    assert RETRIER.check(SendResult(status)) == Outcome(DONE, "delivered")


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_retried_as_server_error(status):
    outcome = RETRIER.check(SendResult(status, body="upstream hiccup"))
    assert (outcome.action, outcome.reason) == (RETRY, "server_error")
    assert outcome.detail == f"HTTP {status}: upstream hiccup"


def test_429_is_retried_with_the_receivers_retry_after():
    outcome = RETRIER.check(SendResult(429, retry_after=7.0))
    assert (outcome.action, outcome.reason, outcome.retry_after) == (RETRY, "rate_limited", 7.0)


@pytest.mark.parametrize("status", [400, 401, 403, 404, 410, 413, 301])
def test_other_statuses_give_up_as_rejected(status):
    outcome = RETRIER.check(SendResult(status, body="invalid_payload"))
    assert (outcome.action, outcome.reason) == (GIVE_UP, "rejected")
    assert "invalid_payload" in outcome.detail


def test_no_answer_is_retried_and_says_whether_it_timed_out():
    refused = RETRIER.check(SendResult(None, error="ConnectionError: [Errno 111] Connection refused"))
    assert (refused.action, refused.reason) == (RETRY, "connection_failed")
    timed_out = RETRIER.check(SendResult(None, error="timed out: read timeout=10"))
    assert (timed_out.action, timed_out.reason) == (RETRY, "timeout")


def test_a_channels_extra_retry_codes_are_retried():
    assert channels.retrier("webhook").check(SendResult(408)).action == RETRY
    assert channels.retrier("slack").check(SendResult(408)).action == GIVE_UP


def test_pagerduty_error_detail_is_read_from_its_json_body():
    body = '{"status": "invalid event", "message": "Event object is invalid", "errors": ["routing_key is wrong"]}'
    outcome = channels.retrier("pagerduty").check(SendResult(400, body=body))
    assert outcome.action == GIVE_UP
    assert outcome.detail == "HTTP 400: Event object is invalid; routing_key is wrong"


def test_every_channel_type_shares_the_one_helper():
    assert all(isinstance(channels.retrier(kind), Retrier) for kind in channels.TYPES)


def test_backoff_doubles_per_attempt_with_jitter_between_half_and_whole():
    rng = random.Random(1)
    retry = Outcome(RETRY, "server_error")
    for attempt, full in ((1, 2), (2, 4), (3, 8), (4, 16)):
        for _ in range(50):
            at, reason = next_attempt_at(retry, attempt, T0, T0, BACKOFF, rng)
            assert reason == "server_error"
            assert full / 2 <= at - T0 <= full


def test_backoff_is_capped_at_the_most():
    at, _ = next_attempt_at(Outcome(RETRY, "server_error"), 30, T0, T0 + 10, BACKOFF, random.Random(2))
    assert 150 <= at - (T0 + 10) <= 300


def test_retry_after_is_honoured_as_the_earliest_next_attempt():
    at, reason = next_attempt_at(Outcome(RETRY, "rate_limited", retry_after=40), 1, T0, T0, BACKOFF)
    assert (at, reason) == (T0 + 40, "rate_limited")


def test_a_retry_after_past_the_give_up_time_gives_up_now():
    at, reason = next_attempt_at(Outcome(RETRY, "rate_limited", retry_after=4000), 1, T0, T0, BACKOFF)
    assert (at, reason) == (None, "gave_up_after_3600s")


def test_the_last_attempt_happens_at_the_give_up_time_and_then_it_gives_up():
    at, _ = next_attempt_at(Outcome(RETRY, "server_error"), 12, T0, T0 + 3500, BACKOFF, random.Random(3))
    assert at == T0 + 3600
    assert next_attempt_at(Outcome(RETRY, "server_error"), 13, T0, T0 + 3600, BACKOFF) == (None, "gave_up_after_3600s")


def test_done_and_give_up_have_no_next_attempt():
    assert next_attempt_at(Outcome(DONE, "delivered"), 1, T0, T0, BACKOFF) == (None, "delivered")
    assert next_attempt_at(Outcome(GIVE_UP, "rejected"), 1, T0, T0, BACKOFF) == (None, "rejected")


def test_retry_after_reads_seconds_and_http_dates():
    assert parse_retry_after("120", T0) == 120.0
    assert parse_retry_after(formatdate(T0 + 30, usegmt=True), T0) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(T0 - 30, usegmt=True), T0) == 0.0
    assert parse_retry_after(None, T0) is None
    assert parse_retry_after("soon", T0) is None
