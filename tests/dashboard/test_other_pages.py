"""Services, alerts and changes: what each lists, and what each says when there is nothing."""

from __future__ import annotations

import time

import pytest

from server.ingest.events import ingest_events
from server.store import db
from tests.dashboard.conftest import tick_now
from tests.support.triage_traffic import forget_seen_versions


def text_of(response) -> str:
    return response.get_data(as_text=True)


def test_services_empty_state(ui):
    assert "No service has sent events yet." in text_of(ui.get("/ui/services"))


def test_services_show_traffic_error_rate_and_last_seen(ui, store):
    now = time.time()
    events = [{"service": "payment", "step": "POST /charge", "ts": now - 5} for _ in range(8)]
    events += [{"service": "payment", "step": "POST /charge", "ts": now - 5, "status": "error", "error_code": "E502"}
               for _ in range(2)]
    events += [{"service": "search", "env": "staging", "step": "GET /q", "ts": now - 3000}]
    assert not ingest_events(events, store, now).rejected
    page = text_of(ui.get("/ui/services"))
    payment = page[page.index(">payment</a>"):]
    payment = payment[:payment.index("</tr>")]
    assert '<td class="num">10</td>' in payment and '<td class="num">2</td>' in payment
    assert "20.0%" in payment and "status-bad" in payment
    assert " ago" in payment
    search = page[page.index(">search</a>"):]
    search = search[:search.index("</tr>")]
    assert "staging" in search and "—" in search and "50m ago" in search  # silent in the last 5 min


def raise_health_alert(service: str, env: str, reason: str, now: float) -> None:
    # As the sentinel's tick writes one (tests of the sentinel itself live with it).
    with db.write_transaction():
        db.execute("INSERT INTO health_alerts (id, key, scope, severity, service, env, reason, details, stale_since,"
                   " raised_at) VALUES (?, 'service_silent', ?, 'critical', ?, ?, ?, '{}', ?, ?)",
                   (f"hal_{service}", f"service:{service}/{env}", service, env, reason, now - 300, now - 240))


def test_services_show_the_sentinels_verdict_worst_first(ui, store):
    now = time.time()
    events = [{"service": name, "step": "GET /", "ts": now - 5} for name in ("alpha", "payment")]
    assert not ingest_events(events, store, now).rejected
    raise_health_alert("payment", "production", "silent for 5m (baseline 40/min)", now)
    tick_now(now=now)
    page = text_of(ui.get("/ui/services"))
    assert page.index(">payment</a>") < page.index(">alpha</a>")  # critical before ok
    payment = page[page.index('<tr class="health-critical">'):]
    payment = payment[:payment.index("</tr>")]
    assert ">payment</a>" in payment and ">critical</span>" in payment
    assert "silent for 5m (baseline 40/min)" in payment
    assert '<span class="badge health-badge-ok">ok</span>' in page


def test_services_health_is_unknown_while_the_engine_is_not_ticking(ui, store):
    now = time.time()
    assert not ingest_events([{"service": "alpha", "step": "GET /", "ts": now - 5}], store, now).rejected
    page = text_of(ui.get("/ui/services"))
    assert '<span class="badge health-badge-unknown">unknown</span>' in page
    assert "the engine has never ticked" in page


def test_alerts_empty_state(ui):
    assert "No alerts." in text_of(ui.get("/ui/alerts"))


@pytest.fixture
def two_alerts(client, auth):
    headers = auth("ingest")
    for body in ({"name": "PaymentErrors", "service": "payment", "summary": "error rate above 5%",
                  "runbook_url": "https://runbooks.example.com/payment"},
                 {"name": "SearchSlow", "service": "search", "status": "resolved", "summary": "p99 above 2s"}):
        assert client.post("/v1/alerts/onset", headers=headers, json=body).status_code == 200


def test_alerts_list_with_status_and_links(ui, two_alerts):
    page = text_of(ui.get("/ui/alerts"))
    assert "PaymentErrors" in page and "SearchSlow" in page
    assert 'href="https://runbooks.example.com/payment"' in page and ">runbook</a>" in page
    firing = text_of(ui.get("/ui/alerts?status=firing"))
    assert "PaymentErrors" in firing and "SearchSlow" not in firing
    assert "SearchSlow" in text_of(ui.get("/ui/alerts?service=search&source=onset"))
    assert "No alerts match these filters." in text_of(ui.get("/ui/alerts?source=grafana"))


def test_changes_empty_state(ui):
    page = text_of(ui.get("/ui/changes"))
    assert "No signals." in page and "No service has sent a version yet." in page


def test_changes_list_signals_newest_first_and_versions_seen(ui, client, auth, store):
    headers = auth("ingest")
    now = time.time()
    assert client.post("/v1/deploys", headers=headers, json={"service": "checkout", "version": "2.1.0", "ts": now - 60,
                                                             "commit": "9f1c2ab3d4e5f60718", "author": "alice"}
                       ).status_code == 200
    assert client.post("/v1/signals", headers=headers, json={"type": "dependency", "service": "payment", "ts": now - 10,
                                                             "reason": "card-processor timing out"}).status_code == 200
    forget_seen_versions()
    for ago, version in ((40, "1.0.0"), (30, "1.1.0")):
        assert not ingest_events([{"service": "gateway", "step": "GET /", "version": version, "ts": now - ago}],
                                 store, now - ago).rejected
    page = text_of(ui.get("/ui/changes"))
    assert page.index("card-processor timing out") < page.index("deployed 2.1.0")
    assert "<code>9f1c2ab3d4e5</code>" in page and "by alice" in page
    versions = page[page.index('id="versions-h"'):]
    assert "<code>1.1.0</code></td><td><code>1.0.0</code>" in versions
    deploys_only = text_of(ui.get("/ui/changes?type=deploy"))
    assert "deployed 2.1.0" in deploys_only and "card-processor timing out" not in deploys_only
    assert "No signals match these filters." in text_of(ui.get("/ui/changes?service=nobody"))
