"""The real Alertmanager (Debian's `prometheus-alertmanager`) delivering to a running Onset.

Alertmanager runs on loopback with its own config and storage in a temp dir, its webhook
pointed at `onset serve` with an ingest key sent by basic auth. An alert posted to its API
(`POST /api/v2/alerts`) reaches Onset, attaches to the matching incident, shows in the
triage report, and is then resolved.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests

from tests.conftest import IN_CI
from tests.support.live import ONSET, LiveServer, free_port
from tests.support.live import wait_until as _wait

pytestmark = pytest.mark.slow

BINARY = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
SERVICE, STEP = "payment", "POST /charge"


@pytest.fixture
def alertmanager_binary() -> str:
    if BINARY is None:
        message = "Alertmanager is not installed: apt-get install -y prometheus-alertmanager (.ci/run does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return BINARY



def _events(n: int, error_code: str | None = None) -> list[dict]:
    now = time.time()
    return [{"ts": now, "service": SERVICE, "step": STEP, "trace_id": uuid.uuid4().hex,
             **({"status": "error", "error_code": error_code} if error_code else {"status": "ok"})}
            for _ in range(n)]


class Alertmanager:
    """`prometheus-alertmanager` on a free loopback port, clustering off, state in `home`."""

    def __init__(self, binary: str, home, webhook_url: str, key: str):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        home.mkdir(parents=True, exist_ok=True)
        config = home / "alertmanager.yml"
        # JSON is YAML: no YAML library needed to write the config.
        config.write_text(json.dumps({
            "route": {"receiver": "onset", "group_by": ["alertname", "service"], "group_wait": "1s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "onset", "webhook_configs": [{
                "url": webhook_url, "send_resolved": True,
                "http_config": {"basic_auth": {"username": "alertmanager", "password": key}},
            }]}],
        }))
        self.log_path = home / "alertmanager.log"
        self.args = [binary, f"--config.file={config}", f"--storage.path={home / 'data'}",
                     f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address=",
                     "--log.level=debug"]
        self.proc: subprocess.Popen | None = None

    def start(self) -> Alertmanager:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.args, stdout=log, stderr=log, start_new_session=True)

        def ready() -> bool:
            if self.proc.poll() is not None:
                raise RuntimeError(f"alertmanager exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                return requests.get(f"{self.url}/-/ready", timeout=1).status_code == 200
            except requests.RequestException:
                return False

        _wait(ready, 20, "alertmanager to be ready")
        return self

    def post_alert(self, labels: dict, annotations: dict, starts_at: datetime, ends_at: datetime | None = None):
        alert = {"labels": labels, "annotations": annotations, "startsAt": starts_at.isoformat(),
                 "generatorURL": "http://prometheus.example.com/graph?g0.expr=up"}
        if ends_at is not None:
            alert["endsAt"] = ends_at.isoformat()
        response = requests.post(f"{self.url}/api/v2/alerts", json=[alert], timeout=5)
        assert response.status_code == 200, response.text

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None


@pytest.fixture
def onset(db_url, tmp_path):
    url = None if db_url.startswith("sqlite") else db_url
    # The incident must stay open while the alert comes and goes.
    server = LiveServer(tmp_path / "onset", url, env={"ONSET_RESOLVE_AFTER_SECONDS": "60"}).start()
    yield server
    server.stop()


def _ingest_key(server: LiveServer) -> str:
    out = subprocess.run([ONSET, "keys", "create", "--scope", "ingest", "--name", "alertmanager", "--json"],
                         env=server.env, capture_output=True, text=True, timeout=30, check=True)
    return json.loads(out.stdout)["key"]


def test_real_alertmanager_alert_attaches_to_the_incident_then_resolves(onset, alertmanager_binary, tmp_path):
    manager = Alertmanager(alertmanager_binary, tmp_path / "am", f"{onset.url}/v1/alerts/alertmanager",
                           _ingest_key(onset)).start()
    stop = threading.Event()

    def steady() -> None:
        while not stop.is_set():
            onset.post("/v1/events", _events(4))
            stop.wait(0.1)

    traffic = threading.Thread(target=steady, daemon=True)
    try:
        traffic.start()
        time.sleep(6.5)  # three prior windows of healthy traffic (2 s windows)
        started = datetime.now(UTC)
        labels = {"alertname": "PaymentErrors", "service": SERVICE, "env": "production", "severity": "critical"}
        manager.post_alert(labels, {"summary": "payment 5xx above 5%",
                                    "runbook_url": "https://runbooks.example.com/payment"}, started)
        for _ in range(4):
            assert onset.post("/v1/events", _events(5, "PMT_502")).ok
            time.sleep(0.1)

        incident = _wait(lambda: onset.get("/v1/incidents", state="active").json()["incidents"], 10,
                         "the incident")[0]
        assert incident["family"]["service"] == SERVICE

        def attached() -> list[dict]:
            return onset.get(f"/v1/incidents/{incident['id']}").json()["alerts"]

        (alert,) = _wait(attached, 15, f"the alert to attach\n{manager.log_path.read_text()[-2000:]}")
        assert (alert["source"], alert["name"], alert["status"], alert["match"]) == (
            "alertmanager", "PaymentErrors", "firing", "service")
        assert alert["annotations"]["runbook_url"] == "https://runbooks.example.com/payment"
        assert alert["links"]["generator"] == "http://prometheus.example.com/graph?g0.expr=up"
        assert alert["extra"]["receiver"] == "onset"

        def in_report() -> list[dict]:
            return onset.get(f"/v1/triage/{incident['id']}").json()["alerts"]["items"]

        (item,) = _wait(in_report, 10, "the alert in the report")
        assert item["id"] == f"alert:{alert['alert_id']}"

        # Resolved through Alertmanager: an end in the past.
        manager.post_alert(labels, {"summary": "payment 5xx above 5%"}, started,
                           ends_at=datetime.now(UTC) - timedelta(seconds=1))
        resolved = _wait(lambda: [a for a in attached() if a["status"] == "resolved"], 15, "the resolution")
        assert resolved[0]["alert_id"] == alert["alert_id"] and resolved[0]["ends_at"] is not None
        listed = onset.get("/v1/alerts", status="resolved").json()["alerts"]
        assert [(a["alert_id"], a["incidents"]) for a in listed] == [(alert["alert_id"], [incident["id"]])]
    finally:
        stop.set()
        traffic.join(5)
        manager.stop()
