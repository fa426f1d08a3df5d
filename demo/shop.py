"""Starting and stopping the demo shop: four service processes and two fake dependencies.

Every service is its own process on loopback, started in its own session (so a Ctrl-C
at the terminal reaches only the driver, which then stops them in order) and set to die
with the driver. `stop()` leaves nothing running; it is safe to call twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import requests

from demo.externals import FakeDependency

ROOT = Path(__file__).resolve().parents[1]
SERVICES = ("inventory", "payment", "checkout", "gateway")
VERSIONS = {"gateway": "2.3.1", "checkout": "1.4.0", "inventory": "0.9.7", "payment": "3.1.2"}
NEW_CHECKOUT_VERSION = "1.5.0"
NEW_CHECKOUT_COMMIT = "9f3c2e1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServiceProcess:
    def __init__(self, name: str, port: int, version: str, proc: subprocess.Popen, log_path: Path):
        self.name = name
        self.port = port
        self.version = version
        self.proc = proc
        self.log_path = log_path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def terminate(self) -> None:
        """SIGTERM: the service stops serving and flushes its events (at most a second)."""
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)

    def stop(self, timeout: float = 5.0) -> None:
        self.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout)


class Shop:
    """The shop, sending to the Onset at `onset_url` with `api_key`, its events tagged `env`."""

    def __init__(self, onset_url: str, api_key: str, env: str, workdir: Path, *, flush_interval: float = 0.2,
                 say: Callable[[str], None] = lambda _: None):
        self.onset_url = onset_url
        self.api_key = api_key
        self.env = env
        self.workdir = workdir
        self.flush_interval = flush_interval
        self.say = say
        self.card_processor = FakeDependency("card-processor", free_port(), 502)
        self.inventory_db = FakeDependency("inventory-db", free_port(), 503)
        self.ports = {name: free_port() for name in SERVICES}
        self.spare_checkout_port = free_port()  # where the next checkout release comes up
        self.services: dict[str, ServiceProcess] = {}
        self.retired: list[ServiceProcess] = []

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports['gateway']}"

    def _endpoints(self) -> dict[str, str]:
        return {**{n: f"http://127.0.0.1:{p}" for n, p in self.ports.items()},
                "card-processor": self.card_processor.url, "inventory-db": self.inventory_db.url}

    def _service_map(self) -> dict[str, str]:
        names = {f"127.0.0.1:{p}": n for n, p in self.ports.items()}
        names[f"127.0.0.1:{self.spare_checkout_port}"] = "checkout"
        names[f"127.0.0.1:{self.card_processor.port}"] = "card-processor"
        names[f"127.0.0.1:{self.inventory_db.port}"] = "inventory-db"
        return names

    def _spawn(self, name: str, port: int, version: str, extra_env: dict[str, str] | None = None) -> ServiceProcess:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ONSET_", "DEMO_"))}
        env.update({
            "ONSET_URL": self.onset_url, "ONSET_API_KEY": self.api_key, "ONSET_SERVICE": name,
            "ONSET_ENV": self.env, "ONSET_VERSION": version,
            "DEMO_ENDPOINTS": json.dumps(self._endpoints()), "DEMO_SERVICE_MAP": json.dumps(self._service_map()),
            "DEMO_FLUSH_INTERVAL": str(self.flush_interval), "DEMO_PARENT_PID": str(os.getpid()),
            "PYTHONUNBUFFERED": "1", **(extra_env or {}),
        })
        log_path = self.workdir / f"{name}-{port}.log"
        with open(log_path, "ab") as log:
            proc = subprocess.Popen([sys.executable, "-m", "demo.services", name, str(port)], env=env, cwd=ROOT,
                                    stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        return ServiceProcess(name, port, version, proc, log_path)

    def start(self, timeout: float = 30.0) -> None:
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.card_processor.start()
        self.inventory_db.start()
        for name in SERVICES:
            self.services[name] = self._spawn(name, self.ports[name], VERSIONS[name])
        for service in self.services.values():
            self._wait_healthy(service, timeout)

    def stop_service(self, name: str) -> None:
        """Stop one service's process, as an outage would; the others keep running."""
        self.services[name].stop()

    def restart_service(self, name: str, timeout: float = 30.0) -> None:
        """Start a stopped service again on its port, with its version."""
        old = self.services[name]
        self.services[name] = self._spawn(name, old.port, old.version)
        self._wait_healthy(self.services[name], timeout)

    def _wait_healthy(self, service: ServiceProcess, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if service.proc.poll() is not None:
                raise RuntimeError(f"{service.name} exited with {service.proc.returncode}:\n{self.log_of(service)}")
            try:
                if requests.get(service.url + "/healthz", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.1)
        raise TimeoutError(f"{service.name} did not become healthy in {timeout:g}s:\n{self.log_of(service)}")

    @staticmethod
    def log_of(service: ServiceProcess) -> str:
        return service.log_path.read_text(errors="replace")[-3000:] if service.log_path.exists() else ""

    # -- faults ------------------------------------------------------------------------------
    def inject(self, scenario: str) -> None:
        """Start the fault of `scenario` (see demo/scenarios.py)."""
        if scenario == "payment_502":
            self.card_processor.failing = True
        elif scenario == "inventory_503":
            self.inventory_db.failing = True
        elif scenario == "checkout_panic":
            response = requests.post(self.services["checkout"].url + "/_demo/fault",
                                     json={"faults": ["pricing_bug"]}, timeout=5)
            response.raise_for_status()
        elif scenario == "bad_deploy":
            self.deploy_checkout(NEW_CHECKOUT_VERSION, NEW_CHECKOUT_COMMIT)
        else:
            raise ValueError(f"unknown scenario {scenario!r}")

    def deploy_checkout(self, version: str, commit: str) -> None:
        """Blue/green: start the new release beside the old one (it announces itself with
        onset_sdk.deploy), switch the gateway to it, then stop the old one."""
        old = self.services["checkout"]
        new = self._spawn("checkout", self.spare_checkout_port, version,
                          {"DEMO_CHECKOUT_RELEASE": version, "DEMO_DEPLOY_COMMIT": commit})
        self._wait_healthy(new, 30)
        self.say(f"checkout {version} is up on :{new.port}; switching the gateway to it")
        response = requests.post(self.gateway_url + "/_demo/upstream", json={"checkout": new.url}, timeout=5)
        response.raise_for_status()
        self.services["checkout"] = new
        old.stop()
        self.retired.append(old)

    # -- stopping ----------------------------------------------------------------------------
    def pids(self) -> list[int]:
        return [s.proc.pid for s in (*self.services.values(), *self.retired)]

    def stop(self) -> None:
        running = [*self.services.values(), *self.retired]
        for service in running:
            service.terminate()
        for service in running:
            service.stop()
        self.card_processor.stop()
        self.inventory_db.stop()
