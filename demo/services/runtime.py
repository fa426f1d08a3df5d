"""What every shop service shares: SDK setup from its environment, downstream calls, serving.

A service process is configured only through its environment (the driver sets it):
ONSET_URL, ONSET_API_KEY, ONSET_SERVICE, ONSET_ENV, ONSET_VERSION for the SDK;
DEMO_ENDPOINTS ({name: base URL}) for the services it calls; DEMO_SERVICE_MAP
({host:port: name}) so that its outgoing calls name their target; DEMO_FLUSH_INTERVAL.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import signal
import sys
import threading
from typing import Any

import onset_sdk
import requests
from flask import Flask, jsonify
from werkzeug.serving import WSGIRequestHandler, make_server

# Downstream calls fail fast: a hung dependency must show up as an error, not a pile-up.
CALL_TIMEOUT = 2.0


_endpoints: dict[str, str] = {}
_endpoints_lock = threading.Lock()


def endpoint(name: str) -> str:
    with _endpoints_lock:
        if not _endpoints:
            _endpoints.update(json.loads(os.environ.get("DEMO_ENDPOINTS", "{}")))
        return _endpoints[name]


def set_endpoint(name: str, url: str) -> None:
    """Point calls to `name` at another base URL (the gateway's blue/green switch)."""
    endpoint(name)
    with _endpoints_lock:
        _endpoints[name] = url


def init_sdk() -> None:
    onset_sdk.init(
        service_map=json.loads(os.environ.get("DEMO_SERVICE_MAP", "{}")),
        flush_interval=float(os.environ.get("DEMO_FLUSH_INTERVAL", "0.2")),
        shutdown_timeout=1.0,
        enable_runtime_hooks=True,
    )


def base_app(name: str) -> Flask:
    """A Flask app for service `name`, instrumented, with GET /healthz."""
    app = Flask(name)
    onset_sdk.instrument_flask(app)

    @app.get("/healthz")
    def healthz():
        return jsonify(service=name, version=os.environ.get("ONSET_VERSION"))

    return app


_local = threading.local()


def http() -> requests.Session:
    """A requests session per thread (the SDK instruments every call made through it)."""
    session = getattr(_local, "session", None)
    if session is None:
        session = _local.session = requests.Session()
    return session


def call(method: str, service: str, path: str, **kwargs: Any) -> requests.Response | None:
    """Call another service or dependency by name; None when it cannot be reached."""
    try:
        return http().request(method, endpoint(service) + path, timeout=CALL_TIMEOUT, **kwargs)
    except requests.RequestException:
        return None


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


def _die_with_parent() -> None:
    # A demo service must never outlive the driver that started it, even one killed with -9.
    # (The signal comes when the driver's starting thread ends: the driver uses its main thread.)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    expected = os.environ.get("DEMO_PARENT_PID")
    if expected and os.getppid() != int(expected):  # the driver died before prctl took effect
        sys.exit(0)


def serve(app: Flask, port: int) -> None:
    """Serve on 127.0.0.1:port (werkzeug, a thread per request) until SIGTERM; the SDK flushes at exit."""
    _die_with_parent()
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=_QuietHandler)

    def stop(*_: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
