"""Server processes the benchmark starts and always stops: the ceiling app and `onset serve`.

Each server runs in its own session (process group) so that stopping it reaches the
gunicorn master and every worker; CPU time is read from /proc for the master and its
children.
"""

from __future__ import annotations

import contextlib
import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from server.config import load_settings
from server.store import keys, migrate
from server.store.db import close_database, open_database

ROOT = Path(__file__).resolve().parents[1]
ONSET = str(Path(sys.executable).parent / "onset")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    """The environment without any ONSET_ setting of the caller: the bench measures defaults."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ONSET_")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env


def process_stat(pid: int) -> tuple[int, float] | None:
    """(parent pid, CPU seconds) of a process, or None when it is gone."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = process_stat(int(entry))
            if stat is not None and stat[0] == pid:
                found.append(int(entry))
    return sorted(found)


class ServerProcess:
    """A gunicorn server in its own process group."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], port: int, log_path: Path):
        self.name = name
        self.argv = argv
        self.env = env
        self.port = port
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def start(self, workers: int, timeout: float = 30) -> ServerProcess:
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.argv, env=self.env, stdout=log, stderr=log, cwd=ROOT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            if len(children(self.proc.pid)) >= workers and self._live():
                return self
            time.sleep(0.1)
        self.stop()
        raise TimeoutError(f"{self.name} did not start within {timeout:g}s:\n{self.log()[-3000:]}")

    def _live(self) -> bool:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
        try:
            conn.request("GET", "/livez")
            return conn.getresponse().status == 200
        except OSError:
            return False
        finally:
            conn.close()

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def workers(self) -> list[int]:
        return children(self.pid)

    def cpu(self) -> dict[int, float]:
        """CPU seconds so far of the master and each worker, by pid."""
        times = {}
        for pid in [self.pid, *self.workers()]:
            stat = process_stat(pid)
            if stat is not None:
                times[pid] = stat[1]
        return times

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """SIGTERM the process group (gunicorn's graceful stop), SIGKILL it if that takes too long."""
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        # Workers left behind by a master that died first share its process group.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc = None


def machine_busy_seconds() -> float:
    """CPU seconds the whole machine has spent busy since boot (all cores, from /proc/stat)."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (int(x) for x in fields[:8])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> tuple[float, bool]:
    """CPU seconds spent between two readings; False when a process came or went in between."""
    spent = sum(after[pid] - before[pid] for pid in after if pid in before)
    return spent, set(before) == set(after)


def ceiling_server(workdir: Path, workers: int) -> ServerProcess:
    port = free_port()
    env = clean_env(ONSET_WORKERS=str(workers))
    return ServerProcess("ceiling", [sys.executable, "-m", "bench.ceiling", f"127.0.0.1:{port}"], env, port,
                         workdir / f"ceiling-{port}.log")


def onset_server(workdir: Path, workers: int, synchronous: str | None) -> tuple[ServerProcess, str]:
    """`onset serve` on a fresh data dir and a real ingest key. `synchronous` None keeps the default
    SQLite durability (ONSET_SQLITE_SYNCHRONOUS unset)."""
    port = free_port()
    data_dir = workdir / f"onset-{(synchronous or 'default').lower()}-{port}"
    extra = {} if synchronous is None else {"ONSET_SQLITE_SYNCHRONOUS": synchronous}
    settings = load_settings(clean_env(**extra), data_dir=str(data_dir))
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    try:
        migrate.migrate()
        key, _ = keys.create_key("bench", ("ingest",))
    finally:
        close_database()
    env = clean_env(ONSET_DATA_DIR=str(data_dir), ONSET_BIND=f"127.0.0.1:{port}", ONSET_WORKERS=str(workers),
                    **extra)
    server = ServerProcess(f"onset {settings.sqlite_synchronous}", [ONSET, "serve"], env, port,
                           data_dir / "server.log")
    return server, key
