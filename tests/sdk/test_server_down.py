"""Acceptance: an app instrumented with the SDK keeps serving at full speed with Onset down.

The app is a real HTTP server (werkzeug, threaded) in this process, sending to a real
`onset serve`. Latency is measured with the server up, then with it stopped (connections
refused) or hung (SIGSTOP: connections accepted, never answered). Request latency must
not grow; the SDK's dropped-event counter must rise instead.
"""

from __future__ import annotations

import http.client
import os
import signal
import statistics
import threading
import time
import uuid

import onset_sdk
import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.support.live import ADMIN_KEY, LiveServer


def shop_app() -> Flask:
    app = Flask("shop")

    @app.get("/items/<int:item>")
    def item(item: int):
        onset_sdk.current_event()["item"] = item
        return {"item": item, "price": sum(range(200))}

    return onset_sdk.instrument_flask(app)


def latencies(port: int, n: int) -> list[float]:
    out = []
    for i in range(n):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", f"/items/{i}")
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 200
        out.append(time.perf_counter() - started)
    return out


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q) - 1]


@pytest.mark.parametrize("outage", ["stopped", "hung"])
def test_the_app_keeps_full_speed_with_onset_down_and_counts_what_it_drops(tmp_path, outage):
    onset = LiveServer(tmp_path / "onset", workers=1).start()
    app_server = None
    try:
        onset_sdk.init(url=onset.url, api_key=ADMIN_KEY, service="shop", env=f"down-{uuid.uuid4().hex[:6]}",
                       queue_size=200, batch_size=50, flush_interval=0.05, timeout=1.0)
        app_server = make_server("127.0.0.1", 0, shop_app(), threaded=True)
        threading.Thread(target=app_server.serve_forever, daemon=True).start()
        port = app_server.server_port

        latencies(port, 100)  # warm-up
        up = latencies(port, 400)
        assert onset_sdk.flush(10)
        before = onset_sdk.stats()
        assert before["dropped"] == 0 and before["sent"] == 500

        if outage == "stopped":
            onset.kill()
        else:
            os.killpg(onset.proc.pid, signal.SIGSTOP)
        down = latencies(port, 400)
        after = onset_sdk.stats()

        summary = (f"up p50 {statistics.median(up) * 1e3:.2f} ms p95 {p(up, 95) * 1e3:.2f} ms; "
                   f"{outage} p50 {statistics.median(down) * 1e3:.2f} ms p95 {p(down, 95) * 1e3:.2f} ms "
                   f"max {max(down) * 1e3:.1f} ms; stats {after}")
        print(summary)
        # Margins for a shared two-core machine; an SDK that waited on Onset would blow through
        # them, the hung case by a whole read timeout (1 s) per batch.
        assert statistics.median(down) <= statistics.median(up) * 2 + 0.001, summary
        assert p(down, 95) <= p(up, 95) * 3 + 0.005, summary
        assert max(down) < 0.5, summary
        # 400 events against a queue of 200 (and one batch of 50 in flight): most of the rest is dropped.
        assert after["dropped"] >= 100 and after["dropped_by_reason"].get("queue_overflow", 0) > 0, summary
        assert after["sent"] == before["sent"], summary
    finally:
        if app_server is not None:
            app_server.shutdown()
        if onset.proc is not None:
            os.killpg(onset.proc.pid, signal.SIGCONT)
        onset.kill()
        onset_sdk.shutdown()
