"""`onset first-run` as a user runs it: the incident printed, exit 0, no process left behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

ONSET = str(Path(sys.executable).parent / "onset")


def processes_with(marker: str) -> list[int]:
    """Pids of live processes whose environment carries `marker` (every child inherits it)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker.encode() in (entry / "environ").read_bytes():
                state = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
                if state != "Z":
                    found.append(int(entry.name))
        except OSError:
            continue
    return found


def first_run_env(marker: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONSET_")}
    env["FIRST_RUN_TEST_MARKER"] = marker
    env["NO_COLOR"] = "1"
    return env


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find leftover processes")
def test_first_run_prints_the_payment_incident_and_leaves_nothing_running():
    marker = f"first-run-{uuid.uuid4().hex}"
    started = time.monotonic()
    done = subprocess.run([ONSET, "first-run"], env=first_run_env(marker), capture_output=True, text=True,
                          timeout=120)
    took = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    # The full triage report, with its hashes, as `onset triage ID` prints it.
    assert "dependency (high confidence)" in done.stdout
    assert "origin: payment POST /charges via card-processor" in done.stdout
    assert "report_hash sha256:" in done.stdout and "evidence_fingerprint sha256:" in done.stdout
    assert took < 90
    time.sleep(0.5)
    assert processes_with(marker) == []


@pytest.mark.skipif(not Path("/proc").exists(), reason="needs /proc to find leftover processes")
def test_ctrl_c_stops_everything_first_run_started():
    marker = f"first-run-{uuid.uuid4().hex}"
    proc = subprocess.Popen([ONSET, "first-run", "--scenario", "inventory_503"], env=first_run_env(marker),
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    output = []
    for line in proc.stdout:
        output.append(line)
        if line.startswith("starting the demo shop"):
            time.sleep(2)  # the server and the shop's processes are running now
            assert len(processes_with(marker)) >= 5
            proc.send_signal(signal.SIGINT)
            break
    rest, _ = proc.communicate(timeout=60)
    output.append(rest)
    assert proc.returncode == 130, "".join(output)
    assert "interrupted" in "".join(output)
    time.sleep(0.5)
    assert processes_with(marker) == []
