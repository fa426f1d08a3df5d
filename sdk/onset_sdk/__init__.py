"""Onset SDK for Python.

    import onset_sdk
    onset_sdk.init(service="checkout", version="1.4.0")   # or ONSET_URL, ONSET_API_KEY, ONSET_SERVICE, ...
    onset_sdk.instrument_flask(app)                        # one wide event per request

Importing this package imports neither Flask nor any other framework: integrations load
when asked for. Nothing here raises into the app once `init` has returned (bad
arguments to `init`, `signal` and `deploy` are the caller's bug and raise at once).
"""

from __future__ import annotations

from typing import Any

from onset_sdk import client as _client_module
from onset_sdk import hooks as _hooks
from onset_sdk.client import Client
from onset_sdk.event import current_event, set_error_code, set_step, set_user_id
from onset_sdk.hooks import safe_call, safe_thread
from onset_sdk.options import resolve as _resolve_options
from onset_sdk.signals import deploy, signal
from onset_sdk.wsgi import OnsetMiddleware

__version__ = "0.1.0"
__all__ = [
    "Client", "OnsetMiddleware", "current_event", "deploy", "flush", "init", "instrument_flask",
    "is_initialized", "safe_call", "safe_thread", "set_error_code", "set_step", "set_user_id", "shutdown",
    "signal", "stats",
]


def init(**options: Any) -> Client | None:
    """Configure the SDK for this process (a second call replaces the first).

    Options, each also from its environment variable where one is named: url
    (ONSET_URL), api_key (ONSET_API_KEY), service (ONSET_SERVICE), env (ONSET_ENV),
    version (ONSET_VERSION), and the rest listed in `onset_sdk.options.OPTIONS`.
    Raises TypeError on an unknown option. Returns the client, or None when enabled=False.
    """
    resolved = _resolve_options(options)
    shutdown()
    if not resolved.enabled:
        return None
    client = Client(resolved)
    _client_module.set_client(client)
    if resolved.instrument_requests:
        # Imported here, not at the top: integrations load only when they are asked for.
        from onset_sdk.integrations import requests as requests_integration

        requests_integration.install()
    if resolved.enable_runtime_hooks:
        _hooks.install()
    return client


def shutdown() -> None:
    """Flush (for at most `shutdown_timeout`), stop the worker, undo patches and hooks."""
    client = _client_module.set_client(None)
    if client is None:
        return
    from onset_sdk.integrations import requests as requests_integration  # loaded by init already

    requests_integration.uninstall()
    _hooks.uninstall()
    client.close()


def flush(timeout: float | None = 5.0) -> bool:
    """Send everything queued so far; False when `timeout` passed first (nothing is lost by that)."""
    client = _client_module.get_client()
    return True if client is None else client.flush(timeout)


def stats() -> dict[str, Any]:
    """Transport counters: queued, sent, signals_sent, retries, dropped, dropped_by_reason."""
    client = _client_module.get_client()
    if client is None:
        return {"queued": 0, "sent": 0, "signals_sent": 0, "retries": 0, "dropped": 0, "dropped_by_reason": {}}
    return client.transport.stats()


def is_initialized() -> bool:
    return _client_module.get_client() is not None


def instrument_flask(app: Any) -> Any:
    """Instrument a Flask app: one wide event per request, the route template as its step."""
    from onset_sdk.integrations import flask as flask_integration  # Flask loads only for Flask apps

    return flask_integration.instrument(app)
