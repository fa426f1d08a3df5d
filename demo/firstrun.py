"""`onset first-run`: a throwaway Onset, the demo shop, one fault, the incident Onset finds.

Everything lives in a temporary directory and every process it starts is stopped before
it returns: on success, on failure, on Ctrl-C and on SIGTERM. Exit status 0 when the
incident has the scenario's cause and origin (and is the only one), 1 otherwise.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests

from demo.driver import run_scenario
from demo.scenarios import SCENARIOS
from demo.shop import ROOT, free_port
from server.store.keys import new_key_text

# Short windows so that a spike is seen within seconds (the defaults are 60s / 10s).
DEMO_SETTINGS = {
    "ONSET_WINDOW_SECONDS": "3",
    "ONSET_TICK_SECONDS": "0.5",
    "ONSET_MIN_COUNT": "5",
    "ONSET_LIFT": "3",
    "ONSET_LEASE_SECONDS": "3",
    "ONSET_RESOLVE_AFTER_SECONDS": "30",
    "ONSET_WORKERS": "1",
    "ONSET_SQLITE_SYNCHRONOUS": "NORMAL",
    "ONSET_LOG_LEVEL": "WARNING",
}


def _die_with_parent() -> None:
    # Runs in the child before exec: a throwaway server must not outlive first-run, even
    # one killed with -9 (gunicorn's workers follow their master).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class ThrowawayServer:
    """`onset serve` on a free loopback port over a fresh SQLite database in `data_dir`."""

    def __init__(self, data_dir: Path, settings: dict[str, str] | None = None):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_key = new_key_text()
        self.log_path = data_dir / "onset-serve.log"
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("ONSET_")}
        self.env.update(DEMO_SETTINGS)
        self.env.update(settings or {})
        self.env.update({"ONSET_DATA_DIR": str(data_dir), "ONSET_BIND": f"127.0.0.1:{self.port}",
                         "ONSET_BOOTSTRAP_KEY": self.api_key})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 30.0) -> ThrowawayServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        on_linux = sys.platform.startswith("linux")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "server.cli", "serve"], env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
                preexec_fn=_die_with_parent if on_linux and threading.active_count() == 1 else None,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"onset serve exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if requests.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"onset serve was not ready in {timeout:g}s:\n{self.log()}")

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-3000:] if self.log_path.exists() else ""

    def stop(self, timeout: float = 10.0) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)
        except ProcessLookupError:
            pass


def triage_text(server: ThrowawayServer, incident_id: str) -> str | None:
    """The incident's full triage report as text (it ends with report_hash and
    evidence_fingerprint), or None when the server cannot give it."""
    try:
        response = requests.get(f"{server.url}/v1/triage/{incident_id}/report", params={"format": "text"},
                                headers={"Authorization": f"Bearer {server.api_key}"}, timeout=10)
    except requests.RequestException:
        return None
    return response.text if response.ok else None


class _Terminated(Exception):
    """SIGTERM, turned into an exception so that the cleanup below still runs."""


def _serve_until_stopped(server: ThrowawayServer, incident_id: str, say: Callable[[str], None]) -> None:
    """Keep the throwaway server up for the browser; Ctrl-C or SIGTERM ends it (status 0)."""
    say(f"dashboard: {server.url}/ui/incidents/{incident_id}")
    say(f"sign in with the key {server.api_key}")
    say("the server keeps running (the fault has stopped: watch the incident recover); Ctrl-C stops it")
    try:
        while server.proc is not None and server.proc.poll() is None:
            time.sleep(0.5)
    except (KeyboardInterrupt, _Terminated):
        say("stopping")


def first_run(scenario: str, *, say: Callable[[str], None] = print,
              render: Callable[[dict[str, Any]], str] | None = None, keep_serving: bool = False) -> int:
    """Run `scenario` against a throwaway server and print what Onset found. Returns the exit status.
    With `keep_serving`, the server then stays up for a look at the dashboard until Ctrl-C or SIGTERM."""
    started = time.monotonic()
    workdir = Path(tempfile.mkdtemp(prefix="onset-first-run-"))
    server = ThrowawayServer(workdir / "data")
    previous_term = _catch_sigterm()
    ok = interrupted = False
    try:
        say(f"onset first-run: scenario {scenario} ({SCENARIOS[scenario].fault})")
        say(f"starting a throwaway Onset server in {workdir} (window 3s, tick 0.5s)")
        server.start()
        result = run_scenario(scenario, server.url, server.api_key, workdir / "shop", env="demo", say=say)
        if result.incident is not None:
            say("")
            say(triage_text(server, result.incident["id"])
                or (render(result.incident) if render else repr(result.incident)))
            say("")
        expected = SCENARIOS[scenario]
        if result.ok:
            via = f" via {expected.expected_via}" if expected.expected_via else ""
            say(f"as expected: cause {expected.expected_cause}, origin {expected.expected_service}"
                f" {expected.expected_step}{via}, one incident")
            ok = True
        else:
            for problem in result.problems:
                say(f"PROBLEM: {problem}")
        if keep_serving and result.incident is not None:
            _serve_until_stopped(server, result.incident["id"], say)
        return 0 if ok else 1
    except KeyboardInterrupt:
        interrupted = True
        say("interrupted: stopping everything first-run started")
        return 130
    except _Terminated:
        interrupted = True
        say("terminated: stopping everything first-run started")
        return 143
    except Exception as exc:
        say(f"first-run failed: {type(exc).__name__}: {exc}")
        return 1
    finally:
        server.stop()
        _restore_sigterm(previous_term)
        if ok or interrupted:
            shutil.rmtree(workdir, ignore_errors=True)
        else:
            say(f"logs kept in {workdir}")
        say(f"first-run took {time.monotonic() - started:.1f}s; every process it started has stopped")


def _catch_sigterm() -> Any:
    if threading.current_thread() is not threading.main_thread():
        return None

    def raise_terminated(*_: Any) -> None:
        raise _Terminated()

    return signal.signal(signal.SIGTERM, raise_terminated)


def _restore_sigterm(previous: Any) -> None:
    if previous is not None:
        signal.signal(signal.SIGTERM, previous)
