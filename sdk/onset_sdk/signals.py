"""Signals (context from outside the request path) and deploys, bounded as the server bounds them."""

from __future__ import annotations

import time
import traceback
from typing import Any

from onset_sdk import client as client_module
from onset_sdk.event import error_code_of

SIGNAL_TYPES = ("deploy", "dependency", "runtime", "alert", "config")
REASON_MAX = 256
MESSAGE_MAX = 2048
SOURCE = "onset-sdk"
STACK_FRAMES = 12


def bounded(text: str | None, limit: int) -> str | None:
    """`text` cut to `limit` characters (the cut marked with an ellipsis)."""
    if text is None:
        return None
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def signal(type: str, *, reason: str | None = None, message: str | None = None, service: str | None = None,
           env: str | None = None, source: str = SOURCE, ts: float | None = None,
           attributes: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Queue a signal for this service (or `service`). Returns the payload queued, or None when
    the SDK is not initialised or the queue is full. Raises ValueError on an unknown `type`:
    that is a bug in the calling code, found the first time it runs."""
    if type not in SIGNAL_TYPES:
        raise ValueError(f"signal type must be one of {', '.join(SIGNAL_TYPES)}, not {type!r}")
    client = client_module._client
    if client is None:
        return None
    payload: dict[str, Any] = {
        "type": type, "service": service or client.service, "env": env or client.env, "source": source,
        "ts": time.time() if ts is None else ts,
    }
    if reason:
        payload["reason"] = bounded(reason, REASON_MAX)
    if message is not None:
        payload["message"] = bounded(message, MESSAGE_MAX)
    attributes = dict(attributes or {})
    if client.version is not None and service in (None, client.service):
        attributes.setdefault("version", client.version)
    if attributes:
        payload["attributes"] = attributes
    return payload if client.capture_signal(payload) else None


def deploy(version: str, *, commit: str | None = None, service: str | None = None, env: str | None = None,
           pr_url: str | None = None, author: str | None = None, message: str | None = None,
           ts: float | None = None, attributes: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """Queue a deploy of `version` of this service (or `service`) for /v1/deploys.

    Returns the payload queued, or None when the SDK is not initialised or the queue is full.
    """
    if not version:
        raise ValueError("deploy() needs a version")
    client = client_module._client
    if client is None:
        return None
    payload: dict[str, Any] = {
        "service": service or client.service, "env": env or client.env, "version": str(version)[:128],
        "source": SOURCE, "ts": time.time() if ts is None else ts,
    }
    for name, value, limit in (("commit", commit, 128), ("pr_url", pr_url, 2048), ("author", author, 256)):
        if value:
            payload[name] = str(value)[:limit]
    if message is not None:
        payload["message"] = bounded(message, MESSAGE_MAX)
    if attributes:
        payload["attributes"] = dict(attributes)
    return payload if client.capture_signal(payload, deploy=True) else None


def runtime_payload(exc: BaseException, hook: str, where: str | None, *, suppressed: int = 0) -> dict[str, Any]:
    """The pieces of a runtime (crash) signal: exception type, bounded message and stack summary."""
    code = error_code_of(exc)
    frames = traceback.extract_tb(exc.__traceback__)[-STACK_FRAMES:]
    stack = [f"{f.filename}:{f.lineno} in {f.name}" for f in frames]
    text = f"{code}: {exc}".rstrip(": ") if str(exc) else code
    message = text + ("\n" + "\n".join(stack) if stack else "")
    attributes: dict[str, Any] = {"exception_type": code, "hook": hook, "stack": stack}
    if where:
        attributes["thread"] = where
    if suppressed:
        attributes["suppressed_since_last"] = suppressed
    reason = f"uncaught {code}" + (f" in {where}" if where else "")
    return {"reason": bounded(reason, REASON_MAX), "message": bounded(message, MESSAGE_MAX),
            "attributes": attributes}
