"""Rate limits per key and scope (`server.ratelimit`), in memory and shared through Redis."""

from __future__ import annotations

import multiprocessing
import os
import uuid

import pytest
from limits import RateLimitItemPerMinute

from server.config import load_settings
from server.errors import RateLimited
from server.ratelimit import RateLimiter, item_for

REDIS_URL = os.environ.get("ONSET_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def redis_or_skip() -> str:
    import redis  # only needed by the Redis half

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        if IN_CI:
            pytest.fail(f"Redis is not reachable at {REDIS_URL} in CI")
        pytest.skip(f"Redis is not reachable at {REDIS_URL}")
    return REDIS_URL


def spend(limiter: RateLimiter, scope: str, key_id: str, times: int) -> int:
    allowed = 0
    for _ in range(times):
        try:
            limiter.check(scope, key_id)
            allowed += 1
        except RateLimited:
            pass
    return allowed


def test_rates_become_limits_items():
    assert (item_for(5).amount, item_for(5).multiples) == (5, 1)
    assert (item_for(0.5).amount, item_for(0.5).multiples) == (1, 2)
    assert (item_for(2.4).amount, item_for(2.4).multiples) == (2, 1)


def test_limits_are_off_unless_a_rate_is_set():
    assert RateLimiter.from_settings(load_settings({})) is None
    assert RateLimiter.from_settings(load_settings({"ONSET_RATELIMIT_READ_RPS": "3"})) is not None


def test_the_prod_profile_turns_limits_on_and_an_explicit_variable_still_wins():
    prod = load_settings({"ONSET_PROFILE": "prod"})
    assert (prod.ratelimit_ingest_rps, prod.ratelimit_read_rps, prod.ratelimit_agent_rps) == (200, 20, 5)
    assert load_settings({"ONSET_PROFILE": "prod", "ONSET_RATELIMIT_READ_RPS": "0"}).ratelimit_read_rps == 0


def test_over_the_limit_raises_429_with_retry_after():
    limiter = RateLimiter({"ingest": 3}, "memory://")
    limiter.items["ingest"] = RateLimitItemPerMinute(3)
    assert spend(limiter, "ingest", "k1", 3) == 3
    with pytest.raises(RateLimited) as refused:
        limiter.check("ingest", "k1")
    assert refused.value.status == 429
    assert 1 <= int(refused.value.headers["Retry-After"]) <= 60
    assert refused.value.fields == {"scope": ["over the ingest rate limit"]}


def test_one_key_over_its_limit_never_limits_another_key():
    limiter = RateLimiter({"ingest": 3}, "memory://")
    limiter.items["ingest"] = RateLimitItemPerMinute(3)
    assert spend(limiter, "ingest", "hammer", 50) == 3
    assert spend(limiter, "ingest", "quiet", 3) == 3


def test_each_scope_of_a_key_has_its_own_budget():
    limiter = RateLimiter({"ingest": 2, "read": 2}, "memory://")
    limiter.items = {scope: RateLimitItemPerMinute(2) for scope in ("ingest", "read")}
    assert spend(limiter, "ingest", "k", 10) == 2
    assert spend(limiter, "read", "k", 10) == 2


def test_scopes_without_a_limit_are_never_refused():
    limiter = RateLimiter({"read": 1}, "memory://")
    assert spend(limiter, "respond", "k", 20) == 20
    assert spend(limiter, "admin", "k", 20) == 20


def test_an_unreachable_storage_lets_requests_through():
    # Port 9 (discard) on loopback: nothing listens, the connection is refused at once.
    limiter = RateLimiter({"ingest": 1}, "redis://127.0.0.1:9/0")
    assert spend(limiter, "ingest", "k", 5) == 5
    assert not limiter.reachable()


def test_two_limiters_on_one_redis_share_one_budget():
    url = redis_or_skip()
    key_id = uuid.uuid4().hex
    first, second = RateLimiter({"read": 1}, url), RateLimiter({"read": 1}, url)
    for limiter in (first, second):
        limiter.items["read"] = RateLimitItemPerMinute(10)
    allowed = spend(first, "read", key_id, 8) + spend(second, "read", key_id, 8)
    assert 10 <= allowed <= 11  # 11 only if the run straddles a minute (sliding window)
    assert first.reachable()


def _hammer(url: str, key_id: str, times: int, results) -> None:
    limiter = RateLimiter({"ingest": 1}, url)
    limiter.items["ingest"] = RateLimitItemPerMinute(20)
    results.put(spend(limiter, "ingest", key_id, times))


def test_two_processes_share_one_budget_through_redis():
    url = redis_or_skip()
    key_id = uuid.uuid4().hex
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = [context.Process(target=_hammer, args=(url, key_id, 30, results)) for _ in range(2)]
    for p in processes:
        p.start()
    for p in processes:
        p.join(60)
    allowed = results.get(timeout=5) + results.get(timeout=5)
    print(f"two processes, 60 requests, a budget of 20 per minute: {allowed} allowed")
    assert 20 <= allowed <= 21
