"""Demo acceptance: each scenario end to end through the real SDK and a real server.

Each run gets its own throwaway server (a fresh database, as `onset first-run` uses),
so that one scenario's deploys and crashes cannot explain another's failure.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest
import requests

from demo.driver import ScenarioResult, run_scenario
from demo.firstrun import ThrowawayServer
from demo.scenarios import SCENARIOS
from demo.shop import NEW_CHECKOUT_VERSION
from server.timefmt import parse_time

pytestmark = pytest.mark.slow


@pytest.fixture
def onset(tmp_path) -> Iterator[ThrowawayServer]:
    server = ThrowawayServer(tmp_path / "data").start()
    yield server
    server.stop()


def run(name: str, onset: ThrowawayServer, tmp_path) -> ScenarioResult:
    lines: list[str] = []
    result = run_scenario(name, onset.url, onset.api_key, tmp_path / "shop", env="demo", normal_seconds=3,
                          say=lines.append)
    assert result.ok, "\n".join([*result.problems, "--- driver said:", *lines, "--- server:", onset.log()])
    return result


def signals(onset: ThrowawayServer, **params) -> list[dict]:
    response = requests.get(onset.url + "/v1/signals", params={"env": "demo", **params},
                            headers={"Authorization": f"Bearer {onset.api_key}"}, timeout=10)
    response.raise_for_status()
    return response.json()["signals"]


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_scenario_opens_one_incident_with_the_documented_cause_and_origin(name, onset, tmp_path):
    result = run(name, onset, tmp_path)
    scenario = SCENARIOS[name]
    incident = result.incident
    assert len(result.incidents) == 1
    assert incident["cause"] == scenario.expected_cause
    assert incident["origin"]["service"] == scenario.expected_service
    assert incident["origin"]["step"] == scenario.expected_step
    assert incident["origin"]["via"] == scenario.expected_via
    # The symptoms upstream are the same incident as the fault, not incidents of their own.
    services = {f["service"] for f in incident["families"]}
    assert {"gateway", scenario.expected_service} <= services
    assert result.traffic[1] > 0


def test_checkout_panic_reports_a_crash_that_comes_after_the_onset(onset, tmp_path):
    result = run("checkout_panic", onset, tmp_path)
    crashes = signals(onset, type="runtime", service="checkout")
    assert crashes, "safe_call should have reported the pricing crash"
    assert crashes[0]["attributes"]["exception_type"] == "TypeError"
    # Why the cause is app and not runtime: the crash is reported inside the first failing request.
    assert parse_time(crashes[0]["ts"]) > parse_time(result.incident["onset"])


def test_bad_deploy_is_announced_before_the_onset_and_its_events_carry_the_new_version(onset, tmp_path):
    result = run("bad_deploy", onset, tmp_path)
    deploys = [s for s in signals(onset, type="deploy", service="checkout") if s["source"] == "onset-sdk"]
    assert [d["attributes"]["version"] for d in deploys] == [NEW_CHECKOUT_VERSION]
    assert parse_time(deploys[0]["ts"]) < parse_time(result.incident["onset"])
    with sqlite3.connect(f"file:{onset.data_dir / 'onset.db'}?mode=ro", uri=True) as conn:
        versions = conn.execute("SELECT DISTINCT version FROM events WHERE service = 'checkout'"
                                " AND status = 'error'").fetchall()
    assert versions == [(NEW_CHECKOUT_VERSION,)]
