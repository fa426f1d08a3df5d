"""`onset first-run --keep-serving` (make demo-ui): from the demo to the incident in the
dashboard, as the README tells a new user; Ctrl-C then stops everything."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import requests

from tests.demo.test_first_run import ONSET, first_run_env, processes_with

pytestmark = pytest.mark.slow


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find leftover processes")
def test_keep_serving_prints_the_dashboard_where_the_incident_is_shown():
    marker = f"first-run-{uuid.uuid4().hex}"
    proc = subprocess.Popen([ONSET, "first-run", "--keep-serving"], env=first_run_env(marker),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    try:
        for line in proc.stdout:
            output.append(line)
            if line.startswith("sign in with the key"):
                break
        text = "".join(output)
        url = re.search(r"^dashboard: (http://\S+/ui/incidents/(\S+))$", text, re.M)
        key = re.search(r"^sign in with the key (\S+)$", text, re.M)
        assert url and key, text
        browser = requests.Session()
        page = browser.get(url[1], timeout=10)  # redirected to the sign-in page
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]
        signed = browser.post(page.url, data={"key": key[1], "csrf_token": token, "next": url[1]}, timeout=10)
        assert signed.status_code == 200 and signed.url == url[1], signed.text[:500]
        assert "Where did it start?" in signed.text and "card-processor" in signed.text
        assert url[2] in signed.text
    finally:
        proc.send_signal(signal.SIGINT)
        rest, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, "".join(output) + rest
    assert "every process it started has stopped" in rest
    time.sleep(0.5)
    assert processes_with(marker) == []
