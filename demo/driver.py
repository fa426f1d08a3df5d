"""The scenario driver: shop up, normal traffic, the fault, then the incident Onset opens.

`run_scenario` talks to an already running Onset (first-run starts a throwaway one; the
acceptance tests do the same) and returns what it saw; `judge` says whether that is what
the scenario promises. Whatever happens, the shop is stopped before it returns.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from demo.scenarios import SCENARIOS, Scenario
from demo.shop import Shop
from demo.traffic import Traffic


@dataclass
class ScenarioResult:
    scenario: Scenario
    incident: dict[str, Any] | None = None  # the incident as GET /v1/incidents/{id} shows it
    incidents: list[dict[str, Any]] = field(default_factory=list)  # every incident of the run's env
    detect_seconds: float | None = None  # from the fault to the incident
    traffic: tuple[int, int] = (0, 0)  # (ok, failed) orders
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def judge(scenario: Scenario, incident: dict[str, Any] | None, incidents: list[dict[str, Any]]) -> list[str]:
    """What differs from the scenario's promise: one incident, its cause, its origin. Empty when all hold."""
    if incident is None:
        return ["no incident was opened"]
    problems = []
    if len(incidents) != 1:
        problems.append(f"expected exactly one incident, got {len(incidents)}: "
                        + ", ".join(f"{i['id']} ({i['cause']})" for i in incidents))
    if incident["cause"] != scenario.expected_cause:
        problems.append(f"cause is {incident['cause']}, expected {scenario.expected_cause}")
    origin = incident.get("origin") or {}
    found = (origin.get("service"), origin.get("step"), origin.get("via"))
    wanted = (scenario.expected_service, scenario.expected_step, scenario.expected_via)
    if found != wanted:
        problems.append(f"origin is {_where(*found)}, expected {_where(*wanted)}")
    return problems


def _where(service: str | None, step: str | None, via: str | None) -> str:
    return f"{service} {step}" + (f" via {via}" if via else "")


class OnsetApi:
    def __init__(self, url: str, api_key: str):
        self.url = url.rstrip("/")
        self.session = requests.Session()
        self.session.headers["Authorization"] = f"Bearer {api_key}"

    def incidents(self, env: str) -> list[dict[str, Any]]:
        response = self.session.get(self.url + "/v1/incidents", params={"state": "all", "limit": 1000}, timeout=10)
        response.raise_for_status()
        return [i for i in response.json()["incidents"] if i["family"]["env"] == env]

    def incident(self, incident_id: str) -> dict[str, Any]:
        response = self.session.get(f"{self.url}/v1/incidents/{incident_id}", timeout=10)
        response.raise_for_status()
        return response.json()


def run_scenario(name: str, onset_url: str, api_key: str, workdir: Path, *, env: str = "demo",
                 normal_seconds: float = 5.0, detect_timeout: float = 30.0, settle_seconds: float = 3.0,
                 rate: float = 20.0, say: Callable[[str], None] = print) -> ScenarioResult:
    """Run scenario `name` end to end and return the incident Onset made of it.

    `settle_seconds`: how long the fault keeps going after the incident opened, so that
    the symptoms upstream join it and a second incident, if the engine made one, shows.
    """
    scenario = SCENARIOS[name]
    result = ScenarioResult(scenario)
    api = OnsetApi(onset_url, api_key)
    shop = Shop(onset_url, api_key, env, workdir, say=say)
    traffic: Traffic | None = None
    try:
        say("starting the demo shop: gateway -> checkout -> inventory, payment (4 processes)")
        shop.start()
        traffic = Traffic(shop.gateway_url, rate=rate).start()
        _progress(say, f"normal traffic for {normal_seconds:g}s", normal_seconds, traffic)
        say(f"injecting {name}: {scenario.fault}")
        injected = time.monotonic()
        shop.inject(name)
        opened = _wait_for_incident(api, env, traffic, injected, detect_timeout, say)
        if opened is None:
            result.problems = judge(scenario, None, [])
            return result
        result.detect_seconds = time.monotonic() - injected
        say(f"incident {opened} opened {result.detect_seconds:.1f}s after the fault;"
            f" letting the fault run {settle_seconds:g}s more")
        result.incident, result.incidents = _settle(api, env, opened, scenario, settle_seconds)
        result.problems = judge(scenario, result.incident, result.incidents)
        return result
    finally:
        if traffic is not None:
            traffic.stop()
            result.traffic = traffic.counts()
        shop.stop()


def _progress(say: Callable[[str], None], what: str, seconds: float, traffic: Traffic) -> None:
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        time.sleep(min(1.0, left))
    ok, failed = traffic.counts()
    say(f"{what}: {ok} orders ok, {failed} failed")


def _wait_for_incident(api: OnsetApi, env: str, traffic: Traffic, injected: float, timeout: float,
                       say: Callable[[str], None]) -> str | None:
    last_said = 0.0
    while (elapsed := time.monotonic() - injected) < timeout:
        found = api.incidents(env)
        if found:
            return min(found, key=lambda i: i["opened_at"])["id"]
        if elapsed - last_said >= 1.0:
            ok, failed = traffic.counts()
            say(f"  waiting for Onset... {elapsed:4.1f}s after the fault, {failed} orders failed so far")
            last_said = elapsed
        time.sleep(0.25)
    say(f"no incident {timeout:g}s after the fault")
    return None


def _settle(api: OnsetApi, env: str, incident_id: str, scenario: Scenario,
            seconds: float) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    # The engine re-analyses an open incident every tick as late events arrive, so read it
    # once the fault has run `seconds` more, and keep reading a little while it still differs.
    time.sleep(seconds)
    deadline = time.monotonic() + 2 * seconds
    while True:
        incident, incidents = api.incident(incident_id), api.incidents(env)
        if not judge(scenario, incident, incidents) or time.monotonic() >= deadline:
            return incident, incidents
        time.sleep(0.5)
