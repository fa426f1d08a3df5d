"""`init` options: declared once as a table, read from arguments and ONSET_ variables.

An option given to `init` wins over its environment variable, which wins over the default.
An unknown option raises TypeError, as a misspelt keyword argument would.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

# name -> (default, environment variable or None, help)
OPTIONS: dict[str, tuple[Any, str | None, str]] = {
    "url": ("http://127.0.0.1:8080", "ONSET_URL", "Where the Onset server listens."),
    "api_key": (None, "ONSET_API_KEY", "An API key with the ingest scope."),
    "service": (None, "ONSET_SERVICE", "This service's name (default unknown_service:<program>)."),
    "env": ("production", "ONSET_ENV", "Deployment environment (production, staging, ...)."),
    "version": (None, "ONSET_VERSION", "This service's version; a new one seen in traffic is a deploy."),
    "enabled": (True, None, "False turns the SDK into a no-op (nothing is recorded or sent)."),
    "service_map": (None, None, "{'host:port' or 'host': service name} naming the targets of outgoing calls."),
    "user_id": (None, None, "callable(environ) -> user id or None, called once per request."),
    "instrument_requests": (True, None, "Record outgoing `requests` calls and propagate traceparent."),
    "enable_runtime_hooks": (False, None, "Report uncaught exceptions (sys, threading, asyncio) as runtime signals."),
    "queue_size": (10_000, None, "Events held in memory while waiting to be sent; beyond, new ones are dropped and counted."),
    "batch_size": (500, None, "Events per request to the server; a full batch is sent at once."),
    "flush_interval": (1.0, None, "Seconds between sends when batches do not fill."),
    "timeout": (5.0, None, "Seconds one send may take."),
    "max_retries": (4, None, "Retries of one batch (429, 502-504, network errors) before it is dropped and counted."),
    "shutdown_timeout": (2.0, None, "Seconds the process waits at exit to flush what is queued."),
    "gzip": (True, None, "Compress request bodies."),
    "transport": (None, None, "A ready transport object (tests); default: the HTTP transport."),
}


@dataclass(frozen=True)
class Options:
    url: str
    api_key: str | None
    service: str
    env: str
    version: str | None
    enabled: bool
    service_map: Mapping[str, str] = field(default_factory=dict)
    user_id: Callable[[dict], str | None] | None = None
    instrument_requests: bool = True
    enable_runtime_hooks: bool = False
    queue_size: int = 10_000
    batch_size: int = 500
    flush_interval: float = 1.0
    timeout: float = 5.0
    max_retries: int = 4
    shutdown_timeout: float = 2.0
    gzip: bool = True
    transport: Any = None


def default_service() -> str:
    # The OpenTelemetry convention for a service that was not named.
    program = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"unknown_service:{program or 'python'}"


def resolve(given: Mapping[str, Any], environ: Mapping[str, str] | None = None) -> Options:
    """The options for `init(**given)`. Raises TypeError on an unknown option."""
    unknown = sorted(set(given) - set(OPTIONS))
    if unknown:
        raise TypeError(f"onset_sdk.init() got unknown option(s): {', '.join(unknown)}"
                        f" (known: {', '.join(OPTIONS)})")
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, (default, variable, _help) in OPTIONS.items():
        if given.get(name) is not None:
            values[name] = given[name]
        elif variable and environ.get(variable):
            values[name] = environ[variable]
        else:
            values[name] = default
    values["url"] = str(values["url"]).rstrip("/")
    values["service"] = values["service"] or default_service()
    values["service_map"] = dict(values["service_map"] or {})
    for name in ("queue_size", "batch_size", "max_retries"):
        values[name] = int(values[name])
        if values[name] < (0 if name == "max_retries" else 1):
            raise ValueError(f"onset_sdk.init(): {name} must be {'0' if name == 'max_retries' else '1'} or more")
    for name in ("flush_interval", "timeout", "shutdown_timeout"):
        values[name] = float(values[name])
        if values[name] <= 0 and name != "shutdown_timeout":
            raise ValueError(f"onset_sdk.init(): {name} must be greater than 0")
    return Options(**values)
