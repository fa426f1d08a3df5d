"""A real local HTTP receiver for notification tests: a threaded http.server on loopback that
answers from a script and records what it got.

`Receiver(script)` where `script(n, request)` returns (status, headers) for the n-th request
(1-based); `accepted` lists the bodies it answered 2xx, once per dedupe key (a receiver
that keeps the keys it saw, as docs/notifications.md asks of one); `duplicates` counts the
2xx-answered repeats it dropped. Start it later than you create it (`port` is reserved
first) to be "down" (connection refused) for a while.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import orjson

from tests.support.live import free_port

Script = Callable[[int, "Received"], tuple[int, dict[str, str]]]


@dataclass
class Received:
    at: float
    path: str
    headers: dict[str, str]
    body: bytes
    status: int = 0

    def json(self) -> Any:
        return orjson.loads(self.body)

    @property
    def dedupe_key(self) -> str | None:
        return self.headers.get("X-Onset-Dedupe-Key")


def always(status: int = 200) -> Script:
    return lambda n, _: (status, {})


@dataclass
class Receiver:
    script: Script = field(default_factory=always)
    port: int = field(default_factory=free_port)
    requests: list[Received] = field(default_factory=list)
    accepted: list[Received] = field(default_factory=list)
    duplicates: int = 0

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._seen: set[str] = set()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def start(self) -> Receiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                got = Received(time.time(), self.path, dict(self.headers.items()), self.rfile.read(length))
                status, headers = receiver._answer(got)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="test-receiver", daemon=True).start()
        return self

    def _answer(self, got: Received) -> tuple[int, dict[str, str]]:
        with self._lock:
            self.requests.append(got)
            status, headers = self.script(len(self.requests), got)
            got.status = status
            if 200 <= status < 300:
                if got.dedupe_key in self._seen:
                    self.duplicates += 1
                else:
                    self._seen.add(got.dedupe_key or f"no-key-{len(self.requests)}")
                    self.accepted.append(got)
            return status, headers

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, predicate: Callable[[Receiver], bool], timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if predicate(self):
                    return
            time.sleep(0.02)
        raise TimeoutError(f"receiver never saw what was expected; got {len(self.requests)} requests: "
                           f"{[(r.status, r.dedupe_key) for r in self.requests]}")

    def events(self) -> list[tuple[str, str]]:
        """(subject id, event) of each accepted notification, in arrival order."""
        found = []
        for r in self.accepted:
            body = r.json()
            found.append((body["subject"]["id"], body["event"]))
        return found
