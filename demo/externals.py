"""The shop's external dependencies, faked: tiny HTTP endpoints with no SDK in them.

They run on threads of the driver's process. Like a real third party they send Onset
nothing; the shop only learns of their trouble through its own calls to them.

* card-processor  POST /v1/authorize -> 200 {"authorization": ...}, or 502 when failing
* inventory-db    GET /rows/<sku>    -> 200 {"available": n},        or 503 when failing
"""

from __future__ import annotations

import json
import random
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeDependency:
    """One fake dependency on 127.0.0.1:port; `failing` flips it into its outage."""

    def __init__(self, name: str, port: int, fail_status: int):
        self.name = name
        self.port = port
        self.fail_status = fail_status
        self.failing = False
        self.calls = 0
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FakeDependency:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # inventory-db
                owner._answer(self, {"available": random.randint(5, 50)})

            def do_POST(self) -> None:  # card-processor
                length = int(self.headers.get("Content-Length") or 0)
                self.rfile.read(length)
                owner._answer(self, {"authorization": f"auth_{random.getrandbits(40):010x}"})

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.2},
                                        name=f"fake-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        self.calls += 1
        status = self.fail_status if self.failing else 200
        payload = json.dumps(body if status == 200 else {"error": f"{self.name} unavailable"}).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(payload)))
        handler.end_headers()
        handler.wfile.write(payload)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
