"""The transport: batching, gzip, retries with Retry-After, drops that are counted, never blocking.

Edge cases use `responses` (no network); the fork and server-down cases use real sockets.
"""

from __future__ import annotations

import gzip
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import onset_sdk
import pytest
import requests
import responses
from onset_sdk.transport import HttpTransport

URL = "http://onset.test:8080"
EVENTS = URL + "/v1/events"


@pytest.fixture
def make_transport():
    made: list[HttpTransport] = []

    def make(**kwargs) -> HttpTransport:
        options = {"api_key": "onk_test_key", "flush_interval": 30.0, "backoff_base": 0.01, "timeout": 2.0}
        options.update(kwargs)
        transport = HttpTransport(options.pop("url", URL), options.pop("api_key"), **options)
        made.append(transport)
        return transport

    yield make
    for transport in made:
        transport.close(0.5)


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def event(i: int = 0) -> dict:
    return {"service": "shop", "step": "GET /", "ts": time.time(), "n": i}


def sent_events(call) -> list[dict]:
    assert call.request.headers["Content-Encoding"] == "gzip"
    return json.loads(gzip.decompress(call.request.body))["events"]


def wait_for(predicate, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError("condition not reached in time")


def test_a_full_batch_is_sent_without_waiting_for_the_interval(make_transport, mocked):
    mocked.post(EVENTS, json={"accepted": 3, "rejected": []})
    transport = make_transport(batch_size=3)
    for i in range(3):
        transport.add_event(event(i))
    wait_for(lambda: len(mocked.calls) == 1)
    assert [e["n"] for e in sent_events(mocked.calls[0])] == [0, 1, 2]
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer onk_test_key"


def test_a_partial_batch_is_sent_after_the_interval(make_transport, mocked):
    mocked.post(EVENTS, json={"accepted": 1, "rejected": []})
    transport = make_transport(batch_size=100, flush_interval=0.1)
    transport.add_event(event())
    wait_for(lambda: transport.stats()["sent"] == 1)


def test_flush_sends_everything_queued_in_batches(make_transport, mocked):
    mocked.post(EVENTS, json={"accepted": 0, "rejected": []})
    transport = make_transport(batch_size=4)
    for i in range(10):
        transport.add_event(event(i))
    assert transport.flush(5) is True
    batches = [[e["n"] for e in sent_events(c)] for c in mocked.calls]
    assert sum(batches, []) == list(range(10))
    assert max(len(b) for b in batches) <= 4


def test_signals_go_out_at_once_and_deploys_to_their_own_route(make_transport, mocked):
    mocked.post(URL + "/v1/signals", json={"accepted": 1, "rejected": []})
    mocked.post(URL + "/v1/deploys", json={"accepted": 1, "rejected": []})
    transport = make_transport()
    transport.add_signal({"type": "runtime", "service": "shop"})
    transport.add_signal({"service": "shop", "version": "2"}, deploy=True)
    wait_for(lambda: transport.stats()["signals_sent"] == 2)
    assert [c.request.url for c in mocked.calls] == [URL + "/v1/signals", URL + "/v1/deploys"]


def test_429_waits_for_retry_after_then_succeeds(make_transport, mocked):
    times: list[float] = []
    answers = iter([(429, {"Retry-After": "1"}, "{}"), (200, {}, json.dumps({"accepted": 2, "rejected": []}))])

    def answer(request):
        times.append(time.monotonic())
        return next(answers)

    mocked.add_callback(responses.POST, EVENTS, callback=answer)
    transport = make_transport()
    transport.add_event(event(1))
    transport.add_event(event(2))
    assert transport.flush(5)
    assert len(times) == 2
    assert times[1] - times[0] >= 0.95  # backoff alone would have been ~10 ms
    stats = transport.stats()
    assert (stats["sent"], stats["retries"], stats["dropped"]) == (2, 1, 0)


def test_retry_after_as_an_http_date(make_transport):
    transport = make_transport()
    response = requests.Response()
    response.headers["Retry-After"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 3))
    assert 1.5 < transport._retry_after(response) <= 3.5
    response.headers["Retry-After"] = "3600"
    assert transport._retry_after(response) == 60.0  # capped: a batch never waits longer


def test_500_is_a_server_bug_dropped_and_counted_not_retried(make_transport, mocked):
    mocked.post(EVENTS, status=500, json={"error": {"code": "internal", "message": "bug"}})
    transport = make_transport()
    for i in range(4):
        transport.add_event(event(i))
    assert transport.flush(5)
    assert len(mocked.calls) == 1
    assert transport.stats()["dropped_by_reason"] == {"server_error": 4}


def test_503_is_retried_until_retries_run_out(make_transport, mocked):
    mocked.post(EVENTS, status=503)
    transport = make_transport(max_retries=3)
    transport.add_event(event())
    assert transport.flush(5)
    assert len(mocked.calls) == 4
    stats = transport.stats()
    assert (stats["retries"], stats["dropped_by_reason"]) == (3, {"send_failed": 1})


def test_timeouts_are_retried(make_transport, mocked):
    mocked.post(EVENTS, body=requests.ReadTimeout("read timed out"))
    mocked.post(EVENTS, json={"accepted": 1, "rejected": []})
    transport = make_transport()
    transport.add_event(event())
    assert transport.flush(5)
    assert (transport.stats()["sent"], transport.stats()["retries"]) == (1, 1)


def test_a_rejected_key_is_not_retried(make_transport, mocked):
    mocked.post(EVENTS, status=401, json={"error": {"code": "unauthorized", "message": "unknown key"}})
    transport = make_transport()
    transport.add_event(event())
    assert transport.flush(5)
    assert len(mocked.calls) == 1
    assert transport.stats()["dropped_by_reason"] == {"rejected": 1}


def test_items_of_a_partly_bad_batch_are_counted_as_rejected(make_transport, mocked):
    mocked.post(EVENTS, json={"accepted": 2, "rejected": [{"index": 1, "fields": {"step": ["required"]}}]})
    transport = make_transport()
    for i in range(3):
        transport.add_event(event(i))
    assert transport.flush(5)
    stats = transport.stats()
    assert (stats["sent"], stats["dropped_by_reason"]) == (2, {"rejected": 1})


def test_a_full_queue_drops_new_events_and_counts_them_without_blocking(make_transport, mocked):
    release = threading.Event()

    def slow(request):
        release.wait(5)
        return 200, {}, json.dumps({"accepted": 1, "rejected": []})

    mocked.add_callback(responses.POST, EVENTS, callback=slow)
    transport = make_transport(queue_size=10, batch_size=1, flush_interval=0.01)
    started = time.perf_counter()
    accepted = sum(transport.add_event(event(i)) for i in range(1000))
    elapsed = time.perf_counter() - started
    release.set()
    assert elapsed < 0.5  # 1000 calls, none waited for the stuck send
    assert accepted <= 11
    assert transport.stats()["dropped_by_reason"]["queue_overflow"] == 1000 - accepted


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_server_down_never_blocks_nor_raises_and_the_loss_is_counted(make_transport):
    transport = make_transport(url=f"http://127.0.0.1:{closed_port()}", max_retries=2, flush_interval=0.01)
    started = time.perf_counter()
    for i in range(100):
        transport.add_event(event(i))
    assert time.perf_counter() - started < 0.1
    assert transport.flush(10)
    assert transport.stats()["dropped_by_reason"]["send_failed"] >= 1
    assert transport.stats()["sent"] == 0


def test_close_gives_up_on_what_cannot_be_sent_in_time(make_transport):
    transport = make_transport(url=f"http://127.0.0.1:{closed_port()}", max_retries=50, backoff_base=0.2)
    for i in range(5):
        transport.add_event(event(i))
    assert transport.flush(0.2) is False
    started = time.monotonic()
    transport.close(0.5)
    assert time.monotonic() - started < 2
    stats = transport.stats()
    assert stats["dropped"] == 5 and stats["queued"] == 0


class _Sink(BaseHTTPRequestHandler):
    received: list[tuple[int, list]] = []

    def do_POST(self) -> None:
        body = gzip.decompress(self.rfile.read(int(self.headers["Content-Length"])))
        events = json.loads(body)["events"]
        _Sink.received.append((events[0]["pid"], events))
        payload = json.dumps({"accepted": len(events), "rejected": []}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args) -> None:
        pass


def test_a_forked_child_sends_through_its_own_worker():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    _Sink.received = []
    try:
        onset_sdk.init(service="shop", url=f"http://127.0.0.1:{server.server_port}", flush_interval=30)
        transport = onset_sdk.client.get_client().transport
        transport.add_event({"pid": os.getpid(), "who": "parent-before-fork"})
        pid = os.fork()
        if pid == 0:  # the child: the parent's queue and thread are not ours
            code = 1
            try:
                ok = transport.stats()["queued"] == 0
                transport.add_event({"pid": os.getpid(), "who": "child"})
                ok = ok and transport.flush(5) and transport.stats()["sent"] == 1
                code = 0 if ok else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert onset_sdk.flush(5)
        by_pid = {p: [e["who"] for e in events] for p, events in _Sink.received}
        assert by_pid == {os.getpid(): ["parent-before-fork"], pid: ["child"]}
    finally:
        server.shutdown()
        server.server_close()
