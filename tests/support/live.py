"""Real processes for integration tests: `onset serve` on a free port, started and killed."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]
ONSET = str(Path(sys.executable).parent / "onset")
ADMIN_KEY = "onk_testadmin0_" + "Zq8vX1c7Lr4mN0pW2sK9tY5uB3hE6jD"

# Short windows so that a spike is seen within seconds.
FAST = {
    "ONSET_WINDOW_SECONDS": "2",
    "ONSET_TICK_SECONDS": "0.25",
    "ONSET_RESOLVE_AFTER_SECONDS": "2",
    "ONSET_LEASE_SECONDS": "2",
    "ONSET_MIN_COUNT": "5",
    "ONSET_LIFT": "3",
}


def wait_until(predicate, timeout: float, what: str = "the condition", interval: float = 0.2):
    """Poll `predicate` until it returns something truthy, and return that; fail the test
    naming `what` when `timeout` seconds pass first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """`onset serve` in a subprocess. Call start(), then stop() or kill()."""

    def __init__(self, data_dir: Path, database_url: str | None = None, *, workers: int = 2,
                 env: dict[str, str] | None = None, command: str = "serve"):
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("ONSET_")},
            **FAST,
            "ONSET_DATA_DIR": str(data_dir),
            "ONSET_BIND": f"127.0.0.1:{self.port}",
            "ONSET_WORKERS": str(workers),
            "ONSET_BOOTSTRAP_KEY": ADMIN_KEY,
            "ONSET_URL": self.url,
            "ONSET_API_KEY": ADMIN_KEY,
            "ONSET_SQLITE_SYNCHRONOUS": "NORMAL",
            **(env or {}),
        }
        if database_url:
            self.env["ONSET_DATABASE_URL"] = database_url
        self.command = command
        self.proc: subprocess.Popen | None = None
        self.log_path = data_dir / f"server-{self.port}.log"

    def start(self, wait_ready: bool = True, timeout: float = 30) -> LiveServer:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen([ONSET, self.command], env=self.env, stdout=log, stderr=log,
                                         cwd=ROOT, start_new_session=True)
        if wait_ready:
            self.wait(lambda r: r.status_code == 200, "/readyz", timeout)
        return self

    def wait(self, predicate, path: str = "/readyz", timeout: float = 30) -> requests.Response:
        deadline = time.time() + timeout
        last = None
        while time.time() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                last = requests.get(self.url + path, headers=self.headers(), timeout=2)
                if predicate(last):
                    return last
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{path} never satisfied the check; last: "
                           f"{last.status_code if last is not None else None} {last.text if last is not None else ''}"
                           f"\n{self.log()[-3000:]}")

    def headers(self, key: str = ADMIN_KEY) -> dict[str, str]:
        return {"Authorization": f"Bearer {key}"}

    def post(self, path: str, payload, key: str = ADMIN_KEY) -> requests.Response:
        return requests.post(self.url + path, json=payload, headers=self.headers(key), timeout=10)

    def get(self, path: str, key: str = ADMIN_KEY, **params) -> requests.Response:
        return requests.get(self.url + path, params=params, headers=self.headers(key), timeout=10)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: master, workers, engine threads."""
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()
            self.proc = None
