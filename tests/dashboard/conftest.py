"""Dashboard fixtures: a client signed in through the real sign-in form, and an incident
made by the real engine from crafted traffic (tests/support/triage_traffic.py)."""

from __future__ import annotations

import re
import time

import pytest

from server.engine.tick import Engine
from server.store import db, lease
from tests.support.triage_traffic import T0, Fault, Played, play, signal

CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(client) -> str:
    """The session's CSRF token, as the sign-in page's form carries it."""
    page = client.get("/ui/sign-in")
    found = CSRF_FIELD.search(page.get_data(as_text=True))
    if found is None:  # signed in already: the sign-in page redirects; any page has the sign-out form
        found = CSRF_FIELD.search(client.get("/ui/services").get_data(as_text=True))
    assert found, "no CSRF token on the page"
    return found.group(1)


def sign_in_with(client, key: str, next_url: str = "/ui/"):
    return client.post("/ui/sign-in", data={"key": key, "csrf_token": csrf_of(client), "next": next_url})


@pytest.fixture
def ui(client, make_key):
    """A test client signed in to the dashboard with a read key."""
    response = sign_in_with(client, make_key("read", name="oncall"))
    assert response.status_code == 303, response.get_data(as_text=True)
    return client


@pytest.fixture
def engine(store) -> Engine:
    return Engine(store, "test-engine")


@pytest.fixture
def incident(store, engine) -> Played:
    """payment's calls to card-processor time out, after a checkout deploy: one active incident."""

    def deploy(now: float) -> dict[str, str]:
        return {"deploy": signal(store, {"service": "checkout", "version": "2.1.0", "ts": T0 - 120,
                                         "commit": "9f1c2ab3d4e5f60718", "author": "alice",
                                         "pr_url": "https://git.example.com/shop/pull/42"}, now, deploy=True)}

    return play(store, engine, Fault(processor="timeout"), before_burst=deploy)


def tick_now(holder: str = "test-engine", now: float | None = None) -> None:
    """Record an engine tick (as a ticking engine would) so that readiness sees a live engine."""
    now = time.time() if now is None else now
    assert lease.try_acquire(holder, now, 30)
    with db.write_transaction():
        assert lease.renew_for_tick(holder, now, 30, 1.0)
