"""The incident log end to end on a real `onset serve` (SQLite and PostgreSQL) and the real demo
shop: the payment_502 incident worked through the CLI — ack, assign, note, severity, follow-up,
artifact, manual resolve — shows in the timeline on the dashboard and in the postmortem with the
right authors; a read key is refused each write; `onset gate` holds payment while the incident
is open and lets it ship once resolved."""

from __future__ import annotations

import json
import re
import subprocess
import time
from datetime import UTC, datetime

import pytest
import requests

from demo.driver import run_scenario
from tests.support.live import ADMIN_KEY, ONSET, LiveServer

pytestmark = pytest.mark.slow


def onset(server: LiveServer, key: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ONSET, *args], env={**server.env, "ONSET_API_KEY": key, "NO_COLOR": "1"},
                          capture_output=True, text=True, timeout=60)


def new_key(server: LiveServer, scope: str, name: str) -> str:
    created = onset(server, ADMIN_KEY, "keys", "create", "--scope", scope, "--name", name)
    assert created.returncode == 0, created.stderr
    return created.stdout.strip()


def wait_for(predicate, timeout: float):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def dashboard_rows(server: LiveServer, key: str, incident_id: str) -> list[tuple[str, str, str]]:
    """(who, kind, text) of every timeline entry on the incident's dashboard page, in page order."""
    browser = requests.Session()
    page = browser.get(f"{server.url}/ui/sign-in", timeout=10)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
    target = f"/ui/incidents/{incident_id}"
    signed = browser.post(f"{server.url}/ui/sign-in", data={"key": key, "csrf_token": token, "next": target},
                          timeout=10)
    assert signed.status_code == 200 and signed.url.endswith(target), signed.text[:300]
    return re.findall(r'<span class="tl-who">([^<]+)</span>\s*<span class="tl-kind">([^<]+)</span>\s*'
                      r'<span class="tl-body">([^<]*)</span>', signed.text)


@pytest.fixture
def demo_incident(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    # A long quiet period: the incident stays open after the shop stops, until someone resolves it.
    server = LiveServer(tmp_path / "data", url, env={"ONSET_RESOLVE_AFTER_SECONDS": "600"}).start()
    try:
        result = run_scenario("payment_502", server.url, ADMIN_KEY, tmp_path / "shop", env="demo",
                              normal_seconds=4, say=lambda *_: None)
        assert result.incident is not None, result.problems
        yield server, result.incident["id"]
    finally:
        server.stop()


def test_the_cli_flow_shows_in_the_timeline_the_dashboard_and_the_postmortem(demo_incident, tmp_path):
    server, incident_id = demo_incident
    alice, bob = new_key(server, "respond", "alice"), new_key(server, "respond", "bob")
    viewer = new_key(server, "read", "viewer")

    held = onset(server, viewer, "gate", "--service", "payment")
    assert held.returncode == 1 and incident_id in held.stderr and "severity P1" in held.stderr
    warned = onset(server, viewer, "gate", "--service", "payment", "--warn-only")
    assert warned.returncode == 0 and incident_id in warned.stderr

    excerpt = tmp_path / "card-processor.md"
    excerpt.write_text("# card-processor\n\n502 on every authorization since 03:10\n")
    steps = [
        (alice, "ack", incident_id),
        (alice, "assign", incident_id, "--to", "bob"),
        (bob, "note", incident_id, "card-processor status page says degraded"),
        (alice, "severity", incident_id, "P2", "--reason", "cards only; wallets still work"),
        (bob, "followup", "add", incident_id, "--title", "add a circuit breaker", "--owner", "bob",
         "--due", "2999-12-31"),
        (bob, "attach", incident_id, str(excerpt)),
    ]
    for key, *args in steps:
        done = onset(server, key, *args)
        assert done.returncode == 0, (args, done.stderr)

    refused = onset(server, viewer, "note", incident_id, "a read key writes nothing")
    assert refused.returncode == 1 and "403" in refused.stderr
    assert onset(server, viewer, "gate", "--service", "payment").returncode == 1  # still open, now P2

    resolved = onset(server, alice, "resolve", incident_id, "--reason", "card-processor recovered")
    assert resolved.returncode == 0, resolved.stderr
    wait_for(lambda: server.get(f"/v1/incidents/{incident_id}").json()["state"] == "resolved", 15)
    shipped = onset(server, viewer, "gate", "--service", "payment")
    assert shipped.returncode == 0, shipped.stderr

    people = [(who, kind) for who, kind, _ in dashboard_rows(server, viewer, incident_id) if who != "onset"]
    assert people == [("alice", "acknowledge"), ("alice", "assign"), ("bob", "note"), ("alice", "severity"),
                      ("bob", "follow-up"), ("bob", "artifact"), ("alice", "resolve")]
    rows = dashboard_rows(server, viewer, incident_id)
    assert rows[0][:2] == ("onset", "status")
    assert any(who == "onset" and "resolved by alice: card-processor recovered" in text for who, _, text in rows)

    postmortem = onset(server, viewer, "postmortem", incident_id)
    assert postmortem.returncode == 0, postmortem.stderr
    text = postmortem.stdout
    for line in ("| alice | acknowledge: acknowledged |", "| alice | assign: assigned to bob |",
                 "| bob | note: card-processor status page says degraded |",
                 "| alice | severity: severity P1 → P2 (set by hand): cards only; wallets still work |",
                 "| alice | resolve: resolved by hand: card-processor recovered |",
                 "- [ ] add a circuit breaker (owner bob, due 2999-12-31)", "- card-processor.md (text/markdown",
                 "- **Acknowledged by:** alice · **Assigned to:** bob"):
        assert line in text, line
    assert onset(server, viewer, "postmortem", incident_id).stdout == text  # the same bytes

    # The rest of the log through the CLI: the catalog, an overdue follow-up holding the gate, declare,
    # the timeline, similar incidents and the week's digest.
    admin_set = onset(server, ADMIN_KEY, "services", "set", "payment", "--team", "payments", "--runbook",
                      "https://wiki.example.com/payment", "--channel", "#payments")
    assert admin_set.returncode == 0, admin_set.stderr
    assert onset(server, alice, "services", "set", "payment", "--team", "x").returncode == 1  # admin only
    assert "403" in onset(server, alice, "services", "set", "payment", "--team", "x").stderr
    shown = onset(server, viewer, "incident", incident_id).stdout
    assert "owner     team payments, runbook https://wiki.example.com/payment, channel #payments" in shown
    assert "acked     alice at " in shown and "assignee  bob" in shown
    late = onset(server, bob, "followup", "add", incident_id, "--title", "rotate the processor key", "--due",
                 "2020-01-01", "--json")
    followup_id = json.loads(late.stdout)["id"]
    overdue = onset(server, viewer, "followups", "--overdue")
    assert followup_id in overdue.stdout and "OVERDUE" in overdue.stdout
    gated = onset(server, viewer, "gate", "--service", "payment")
    assert gated.returncode == 1 and f"follow-up {followup_id}" in gated.stderr
    assert onset(server, bob, "followup", "done", followup_id).returncode == 0
    assert onset(server, viewer, "gate", "--service", "payment").returncode == 0
    declared = onset(server, alice, "declare", "--service", "payment", "--title", "customers report double charges",
                     "--severity", "P3")
    assert declared.returncode == 0 and declared.stdout.startswith("declared inc_") and "(P3)" in declared.stdout
    lines = onset(server, viewer, "timeline", incident_id).stdout.splitlines()
    assert any(" alice " in line and "resolve" in line for line in lines)
    assert onset(server, viewer, "similar", incident_id).returncode == 0
    week = datetime.now(UTC).strftime("%G-W%V")
    digest = json.loads(onset(server, viewer, "digest", "--week", week, "--json").stdout)
    assert digest["week"] == week and incident_id in [i["id"] for i in digest["incidents"]["list"]]
