"""The report on every surface of a real `onset serve` (SQLite and PostgreSQL): REST and the CLI
give the same bytes and the same hash; `onset explain` tells a request's story."""

from __future__ import annotations

import subprocess
import time

import orjson
import pytest

from tests.support.live import ONSET, LiveServer
from tests.support.live import wait_until as wait_for
from tests.support.triage_traffic import Fault, HealthyTraffic, request

pytestmark = pytest.mark.slow


def onset(server: LiveServer, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([ONSET, *args], env={**server.env, "NO_COLOR": "1"}, capture_output=True, timeout=30)




@pytest.fixture
def incident(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    server = LiveServer(tmp_path / "data", url).start()
    try:
        with HealthyTraffic(server):
            time.sleep(3 * 2 + 0.5)  # three prior windows of healthy traffic (window 2 s)
            failing = []
            for i in range(12):
                failing += request(f"f{i:03d}", time.time(), user=f"user{i % 6}", fault=Fault(processor="timeout"))
            assert server.post("/v1/events", failing).status_code == 200
            active = wait_for(lambda: server.get("/v1/incidents", state="active").json()["incidents"], 8)
        yield server, active[0]["id"]
    finally:
        server.stop()


def test_cli_json_is_byte_identical_to_the_rest_body(incident):
    server, incident_id = incident
    for _ in range(40):
        # The engine may refresh the evidence between two reads; compare a read that sits
        # between two identical REST answers.
        before = server.get(f"/v1/triage/{incident_id}").content
        cli = onset(server, "triage", incident_id, "--json")
        after = server.get(f"/v1/triage/{incident_id}").content
        if before == after:
            assert cli.returncode == 0, cli.stderr
            assert cli.stdout == before
            report = orjson.loads(cli.stdout)
            assert report["cause"]["kind"] == "dependency"
            assert report["where_it_started"]["origin"]["via"] == "card-processor"
            return
        time.sleep(0.3)
    pytest.fail("the report never held still for two reads")


def test_every_cli_format_shows_the_rest_report_hash(incident):
    server, incident_id = incident
    for _ in range(40):
        digest = server.get(f"/v1/triage/{incident_id}").json()["report_hash"]
        outputs = {fmt: onset(server, "triage", incident_id, "--format", fmt)
                   for fmt in ("text", "markdown", "slack", "pagerduty", "html")}
        if server.get(f"/v1/triage/{incident_id}").json()["report_hash"] == digest:
            for fmt, out in outputs.items():
                assert out.returncode == 0, out.stderr
                assert digest.encode() in out.stdout, fmt
            assert len(orjson.loads(outputs["slack"].stdout)["blocks"]) <= 50
            return
        time.sleep(0.3)
    pytest.fail("the report never held still")


def test_explain_tells_the_request_story(incident):
    server, _ = incident
    out = onset(server, "explain", "f004")
    assert out.returncode == 0, out.stderr
    text = out.stdout.decode()
    assert text.startswith("trace f004: gateway → checkout → payment ✗ card-processor (timeout)")
    assert "the failure starts here" in text
    as_json = onset(server, "explain", "f004", "--json")
    assert as_json.stdout == server.get("/v1/traces/f004").content
    missing = onset(server, "explain", "nosuchtrace")
    assert missing.returncode == 1 and b"404" in missing.stderr
    unknown = onset(server, "triage", "inc_20000101_0000_000000", "--json")
    assert unknown.returncode == 1 and b"404: no incident" in unknown.stderr and unknown.stdout == b""
