"""What an SDK costs the app it instruments: none vs. onset_sdk vs. sentry-sdk, in one run.

A small Flask app under gunicorn (2 sync workers) is loaded by light client processes
(http.client) three ways, alternated round by round so that drift hits all three alike:

* `none`   - no SDK;
* `onset`  - onset_sdk, sending to a running Onset (a throwaway `onset serve` started here);
* `sentry` - sentry-sdk with its Flask integration and traces_sample_rate=1.0, sending to a
             local sink that answers 200 (its CPU is not the app's).

The figure that matters is the app's CPU per request (gunicorn master and workers, read
from /proc, so the SDKs' background threads are included); "added" is that minus the
no-SDK figure. Requests/s is reported too, but on two shared cores it also moves with
the client's and the sinks' load. Targets: onset's added CPU at most sentry's, and under
100 us a request.

    python -m bench.sdk_overhead            # prints the table; run() returns the figures
"""

from __future__ import annotations

import http.client
import json
import multiprocessing as mp
import os
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from bench.servers import free_port, process_stat

ROOT = Path(__file__).resolve().parents[1]
MODES = ("none", "onset", "sentry")
LABELS = {"none": "no SDK", "onset": "onset_sdk", "sentry": "sentry-sdk (traces 1.0)"}
TARGET_ADDED_US = 100.0


# -- the app ------------------------------------------------------------------------------------
def create_app(mode: str) -> Any:
    """The measured app, with the SDK of `mode` set up as its users would (in each worker)."""
    from flask import Flask, jsonify  # imported in the worker processes only

    app = Flask("bench-sdk-app")

    @app.get("/items/<int:item_id>")
    def item(item_id: int):
        return jsonify(id=item_id, name=f"item {item_id}", price=item_id * 3 % 1000, tags=["a", "b"])

    if mode == "onset":
        import onset_sdk

        onset_sdk.init(service="bench-app", version="1.0.0")  # ONSET_URL / ONSET_API_KEY from the env
        onset_sdk.instrument_flask(app)
    elif mode == "sentry":
        import sentry_sdk
        from sentry_sdk.integrations.flask import FlaskIntegration

        sentry_sdk.init(dsn=os.environ["BENCH_SENTRY_DSN"], integrations=[FlaskIntegration()],
                        traces_sample_rate=1.0, release="1.0.0")
    return app


def serve_app(mode: str, bind: str) -> None:
    from gunicorn.app.base import BaseApplication

    class App(BaseApplication):
        def load_config(self) -> None:
            for key, value in {"bind": bind, "workers": 2, "worker_class": "sync", "accesslog": None,
                               "errorlog": "-", "loglevel": "warning", "preload_app": False}.items():
                self.cfg.set(key, value)

        def load(self) -> Any:
            return create_app(mode)

    App().run()


# -- the sentry sink ------------------------------------------------------------------------------
class _Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as a real Sentry endpoint offers

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


def serve_sink(port: int) -> None:
    ThreadingHTTPServer(("127.0.0.1", port), _Sink).serve_forever()


# -- processes ------------------------------------------------------------------------------------




def tree_cpu_seconds(pid: int) -> float:
    """CPU seconds of a process and its children (a gunicorn master and its workers)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            stat = process_stat(int(entry))
            if stat is not None and (int(entry) == pid or stat[0] == pid):
                total += stat[1]
    return total


class Process:
    def __init__(self, argv: list[str], env: dict[str, str], log_path: Path):
        with open(log_path, "ab") as log:
            self.proc = subprocess.Popen(argv, env=env, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.log_path = log_path

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
            except ProcessLookupError:
                pass


def wait_http(port: int, path: str, timeout: float = 30.0, proc: Process | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.proc.poll() is not None:
            raise RuntimeError(f"exited: {proc.log_path.read_text(errors='replace')[-2000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", path)
            conn.getresponse().read()
            conn.close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing answered on :{port}{path}")


# -- load -----------------------------------------------------------------------------------------
def _client(port: int, start_at: float, end_at: float, seed: int, out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    paths = [f"/items/{seed * 1000 + i}" for i in range(1000)]
    done, failed, latencies, i = 0, 0, [], 0
    while (now := time.time()) < end_at:
        started = time.perf_counter()
        try:
            conn.request("GET", paths[i % 1000])
            response = conn.getresponse()
            response.read()
            good = response.status == 200
        except (OSError, http.client.HTTPException):
            conn.close()
            good = False
        i += 1
        if now >= start_at:
            done += good
            failed += not good
            if i % 10 == 0:
                latencies.append(time.perf_counter() - started)
    conn.close()
    out.put((done, failed, latencies))


def load(port: int, app_pid: int, clients: int, seconds: float, warmup: float) -> dict[str, float]:
    """Drive the app for `warmup` + `seconds`; requests, requests/s, app CPU per request, p50."""
    ctx = mp.get_context("fork")
    out = ctx.Queue()
    start_at = time.time() + warmup
    end_at = start_at + seconds
    procs = [ctx.Process(target=_client, args=(port, start_at, end_at, n, out), daemon=True)
             for n in range(clients)]
    for p in procs:
        p.start()
    time.sleep(max(0.0, start_at - time.time()))
    cpu0 = tree_cpu_seconds(app_pid)
    time.sleep(max(0.0, end_at - time.time()))
    cpu1 = tree_cpu_seconds(app_pid)
    results = [out.get(timeout=60) for _ in procs]
    for p in procs:
        p.join(10)
    requests = sum(r[0] for r in results)
    latencies = [x for r in results for x in r[2]]
    return {
        "requests": requests, "failed": sum(r[1] for r in results), "rps": requests / seconds,
        "cpu_us_per_request": (cpu1 - cpu0) / requests * 1e6 if requests else float("nan"),
        "p50_ms": statistics.median(latencies) * 1000 if latencies else float("nan"),
    }


# -- the run ------------------------------------------------------------------------------------------
def run(rounds: int = 3, seconds: float = 4.0, warmup: float = 1.0, clients: int = 2) -> dict[str, Any]:
    """Measure the three modes, alternating; print and return the medians per mode."""
    # Imported here: the module's serve/sink entry points run in processes that need none of it.
    from demo.firstrun import ThrowawayServer

    workdir = Path(tempfile.mkdtemp(prefix="onset-bench-sdk-"))
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("ONSET_", "SENTRY_"))}
    onset = ThrowawayServer(workdir / "onset", {"ONSET_WINDOW_SECONDS": "60", "ONSET_TICK_SECONDS": "10",
                                                "ONSET_LEASE_SECONDS": "30"})
    sink_port = free_port()
    started: list[Process] = []
    samples: dict[str, list[dict[str, float]]] = {m: [] for m in MODES}
    try:
        onset.start()
        sink = Process([sys.executable, "-m", "bench.sdk_overhead", "sink", str(sink_port)], base_env,
                       workdir / "sink.log")
        started.append(sink)
        apps: dict[str, tuple[int, Process]] = {}
        for mode in MODES:
            port = free_port()
            env = {**base_env, "ONSET_URL": onset.url, "ONSET_API_KEY": onset.api_key,
                   "BENCH_SENTRY_DSN": f"http://public@127.0.0.1:{sink_port}/1"}
            proc = Process([sys.executable, "-m", "bench.sdk_overhead", "app", mode, f"127.0.0.1:{port}"], env,
                           workdir / f"app-{mode}.log")
            started.append(proc)
            apps[mode] = (port, proc)
        for port, proc in apps.values():
            wait_http(port, "/items/1", proc=proc)
        for r in range(rounds):
            order = MODES if r % 2 == 0 else tuple(reversed(MODES))
            for mode in order:
                port, proc = apps[mode]
                samples[mode].append(load(port, proc.proc.pid, clients, seconds, warmup))
        for _, proc in apps.values():
            proc.stop()  # the onset app flushes at exit
        stored = _count_events(onset.data_dir / "onset.db")
    finally:
        for proc in started:
            proc.stop()
        onset.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    report = _summarise(samples, rounds, seconds, clients, stored)
    print(format_report(report))
    return report


def _count_events(path: Path) -> int:
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        return conn.execute("SELECT COUNT(*) FROM events WHERE service = 'bench-app'").fetchone()[0]


def _summarise(samples: dict[str, list[dict[str, float]]], rounds: int, seconds: float, clients: int,
               stored: int) -> dict[str, Any]:
    modes: dict[str, dict[str, float]] = {}
    for mode, runs in samples.items():
        modes[mode] = {key: statistics.median(r[key] for r in runs)
                       for key in ("rps", "cpu_us_per_request", "p50_ms")}
        modes[mode]["requests"] = sum(r["requests"] for r in runs)
        modes[mode]["failed"] = sum(r["failed"] for r in runs)
    base = modes["none"]["cpu_us_per_request"]
    for figures in modes.values():
        figures["added_us_per_request"] = figures["cpu_us_per_request"] - base
    onset_added, sentry_added = modes["onset"]["added_us_per_request"], modes["sentry"]["added_us_per_request"]
    return {
        "setup": {"app": "Flask, gunicorn 2 sync workers", "clients": clients, "rounds": rounds,
                  "seconds_per_round": seconds},
        "modes": modes,
        "onset_events_stored": stored,
        "onset_requests": modes["onset"]["requests"],
        "targets": {"onset_at_most_sentry": onset_added <= sentry_added,
                    "onset_under_100us": onset_added < TARGET_ADDED_US},
    }


def format_report(report: dict[str, Any]) -> str:
    setup = report["setup"]
    lines = [f"SDK overhead: {setup['app']}, {setup['clients']} http.client processes,"
             f" {setup['rounds']} alternated rounds of {setup['seconds_per_round']:g}s (medians)",
             f"  {'':26}{'req/s':>9}{'app CPU us/req':>16}{'added us/req':>14}{'p50 ms':>9}"]
    for mode in MODES:
        f = report["modes"][mode]
        added = "-" if mode == "none" else f"{f['added_us_per_request']:+.0f}"
        lines.append(f"  {LABELS[mode]:26}{f['rps']:9.0f}{f['cpu_us_per_request']:16.0f}{added:>14}{f['p50_ms']:9.2f}")
    targets = report["targets"]
    lines.append(f"  onset events stored: {report['onset_events_stored']} of {report['onset_requests']:.0f}"
                 " measured requests (plus warm-up)")
    lines.append(f"  target onset added <= sentry added: {'met' if targets['onset_at_most_sentry'] else 'MISSED'};"
                 f" onset added < {TARGET_ADDED_US:g} us: {'met' if targets['onset_under_100us'] else 'MISSED'}")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    if argv[:1] == ["app"] and len(argv) == 3:
        serve_app(argv[1], argv[2])
    elif argv[:1] == ["sink"] and len(argv) == 2:
        serve_sink(int(argv[1]))
    elif not argv:
        report = run()
        if os.environ.get("BENCH_JSON"):
            Path(os.environ["BENCH_JSON"]).write_text(json.dumps(report, indent=2))
    else:
        sys.exit("usage: python -m bench.sdk_overhead [app MODE BIND | sink PORT]")


if __name__ == "__main__":
    main(sys.argv[1:])
