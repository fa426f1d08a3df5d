"""create_app(settings): wires the store, blueprints, auth and errors. Importing does nothing."""

from __future__ import annotations

import logging

from flask import Flask, request

import dashboard
from server import ratelimit
from server.api import (
    agents,
    alerts,
    blast,
    channels,
    health,
    health_alerts,
    heartbeats,
    incident_log,
    incidents,
    ingest,
    notifications,
    openapi,
    otlp,
    traces,
    triage,
)
from server.api import metrics as metrics_api
from server.config import Settings, load_settings
from server.errors import ValidationFailed, register_error_handlers
from server.store.db import open_database

BLUEPRINTS = (health.bp, ingest.bp, incidents.bp, triage.bp, traces.bp, blast.bp, alerts.bp, otlp.bp,
              dashboard.bp, channels.bp, notifications.bp, health_alerts.bp, heartbeats.bp,
              metrics_api.bp, openapi.bp, *incident_log.BLUEPRINTS, *agents.BLUEPRINTS)


def create_app(settings: Settings | None = None) -> Flask:
    """A Flask app bound to the database named by `settings` (default: the environment).

    Migrations are not applied here: `onset serve` and `onset migrate` do that once,
    before workers start.
    """
    settings = settings or load_settings()
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = Flask(__name__)
    app.config["ONSET"] = settings
    app.config["MAX_CONTENT_LENGTH"] = None  # bodies are capped after decompression in ingest.body
    open_database(settings.resolved_database_url, synchronous=settings.sqlite_synchronous)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    app.before_request(refuse_nul_in_url)
    metrics_api.install(app)
    ratelimit.install(app, settings)
    register_error_handlers(app)
    return app


def refuse_nul_in_url() -> None:
    # PostgreSQL cannot take NUL in a query parameter: a %00 in a path or filter would be a 500.
    if "\x00" in request.path or any("\x00" in k + v for k, v in request.args.items(multi=True)):
        raise ValidationFailed("the URL contains a NUL character", {"url": ["must not contain %00"]})
