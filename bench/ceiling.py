"""The ceiling: onset's own gunicorn configuration serving a parse-only Flask app.

`python -m bench.ceiling HOST:PORT` runs it. POST /v1/events reads the body, parses it with
orjson and answers {"accepted": n}: what any Python ingest on this stack pays before doing
anything useful. Onset's ingest is measured against it.
"""

from __future__ import annotations

import sys

import orjson
from flask import Flask, Response, request

from server.config import Settings, load_settings
from server.serve import GunicornServer


def ceiling_app(settings: Settings) -> Flask:
    app = Flask("onset-bench-ceiling")

    @app.post("/v1/events")
    def events() -> Response:
        payload = orjson.loads(request.get_data())
        items = payload.get("events", payload) if isinstance(payload, dict) else payload
        return Response(orjson.dumps({"accepted": len(items)}), mimetype="application/json")

    @app.get("/livez")
    def livez() -> Response:
        return Response(b'{"status": "ok"}', mimetype="application/json")

    return app


def main(argv: list[str]) -> None:
    bind = argv[0] if argv else "127.0.0.1:8090"
    # Same settings path as `onset serve`: workers and log level come from the environment.
    settings = load_settings(bind=bind, engine_enabled="false")
    GunicornServer(settings, factory=ceiling_app, run_engine=False).run()


if __name__ == "__main__":
    main(sys.argv[1:])
