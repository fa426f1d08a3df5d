"""Runtime hooks: crashes become runtime signals, and the process behaves exactly as before."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import onset_sdk
import pytest

from tests.sdk.conftest import RecordingTransport


@pytest.fixture
def hooked() -> RecordingTransport:
    transport = RecordingTransport()
    onset_sdk.init(service="worker", version="2.1.0", transport=transport, enable_runtime_hooks=True)
    return transport


def test_sys_excepthook_reports_and_the_previous_hook_still_runs(monkeypatch):
    seen = []
    monkeypatch.setattr(sys, "excepthook", lambda *args: seen.append(args[0]))
    transport = RecordingTransport()
    onset_sdk.init(service="worker", version="2.1.0", transport=transport, enable_runtime_hooks=True)
    try:
        raise ValueError("bad config value")
    except ValueError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    assert seen == [ValueError]
    (signal,) = transport.signals
    assert (signal["type"], signal["service"], signal["reason"]) == ("runtime", "worker", "uncaught ValueError in main thread")
    assert signal["message"].startswith("ValueError: bad config value\n")
    attributes = signal["attributes"]
    assert (attributes["exception_type"], attributes["hook"], attributes["version"]) == ("ValueError", "sys.excepthook", "2.1.0")
    assert attributes["stack"][-1].endswith("in test_sys_excepthook_reports_and_the_previous_hook_still_runs")


def test_threading_excepthook_reports_a_dying_thread(monkeypatch):
    seen = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_type))
    transport = RecordingTransport()
    onset_sdk.init(service="worker", transport=transport, enable_runtime_hooks=True)

    def work():
        raise KeyError("job")

    thread = threading.Thread(target=work, name="reaper")
    thread.start()
    thread.join()
    assert seen == [KeyError]
    assert transport.signals[0]["reason"] == "uncaught KeyError in reaper"


def test_asyncio_unhandled_errors_are_reported_and_the_loop_handler_still_runs(hooked):
    handled = []

    async def main():
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: handled.append(context["exception"]))
        loop.call_soon(lambda: 1 / 0)
        await asyncio.sleep(0.01)

    asyncio.run(main())
    assert [type(e) for e in handled] == [ZeroDivisionError]
    assert hooked.signals[0]["attributes"]["hook"] == "asyncio"


def test_safe_call_reports_and_reraises(recorded):
    def pricing():
        return None * 2

    with pytest.raises(TypeError):
        onset_sdk.safe_call(pricing)
    assert recorded.signals[0]["attributes"]["hook"] == "safe_call"
    assert recorded.signals[0]["attributes"]["thread"].endswith("pricing")
    assert onset_sdk.safe_call(lambda a, b=0: a + b, 1, b=2) == 3


def test_safe_thread_reports_once_even_with_the_hooks_on(monkeypatch):
    monkeypatch.setattr(threading, "excepthook", lambda args: None)
    transport = RecordingTransport()
    onset_sdk.init(service="worker", transport=transport, enable_runtime_hooks=True)

    def job():
        raise RuntimeError("disk full")

    onset_sdk.safe_thread(job, name="exporter").join()
    assert [s["attributes"]["hook"] for s in transport.signals] == ["safe_thread"]


def test_the_same_crash_is_reported_once_per_interval(recorded):
    def crash():
        raise ValueError("again")

    for _ in range(5):
        with pytest.raises(ValueError):
            onset_sdk.safe_call(crash)
    assert len(recorded.signals) == 1


def test_keyboard_interrupt_is_not_a_crash(recorded):
    with pytest.raises(KeyboardInterrupt):
        onset_sdk.safe_call(lambda: (_ for _ in ()).throw(KeyboardInterrupt()))
    assert recorded.signals == []


def test_shutdown_puts_the_previous_hooks_back():
    before = (sys.excepthook, threading.excepthook)
    onset_sdk.init(service="worker", transport=RecordingTransport(), enable_runtime_hooks=True)
    assert (sys.excepthook, threading.excepthook) != before
    onset_sdk.shutdown()
    assert (sys.excepthook, threading.excepthook) == before


class _Signals(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self) -> None:
        import gzip

        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        _Signals.received.append((self.path, json.loads(body)))
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args) -> None:
        pass


def test_an_uncaught_exception_still_ends_the_process_and_its_signal_is_sent():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Signals)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Signals.received = []
    script = textwrap.dedent(f"""
        import onset_sdk
        onset_sdk.init(service="batch", url="http://127.0.0.1:{server.server_port}", enable_runtime_hooks=True)
        raise SystemError("corrupt state")
    """)
    try:
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=30)
    finally:
        server.shutdown()
        server.server_close()
    assert done.returncode == 1
    assert "SystemError: corrupt state" in done.stderr  # the default hook still printed the traceback
    (path, payload), = _Signals.received
    assert path == "/v1/signals"
    assert (payload["type"], payload["service"], payload["attributes"]["exception_type"]) == (
        "runtime", "batch", "SystemError")
