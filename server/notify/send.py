"""One HTTP attempt: a request in, a `SendResult` out. Never raises for network trouble."""

from __future__ import annotations

import time

import requests

from server.notify.model import HttpRequest, SendResult
from server.notify.retry import parse_retry_after

MAX_BODY = 2048


def send(request: HttpRequest, timeout: float, session: requests.Session | None = None) -> SendResult:
    """POST `request`; redirects are not followed (a webhook that redirects is misconfigured,
    and following one could resend the body somewhere else)."""
    started = time.perf_counter()
    poster = session or requests
    try:
        response = poster.post(request.url, data=request.body, headers=request.headers, timeout=timeout,
                               allow_redirects=False, stream=True)
    except requests.Timeout as exc:
        return SendResult(None, error=f"timed out: {exc}", duration_ms=(time.perf_counter() - started) * 1000)
    except requests.RequestException as exc:
        return SendResult(None, error=f"{type(exc).__name__}: {exc}",
                          duration_ms=(time.perf_counter() - started) * 1000)
    try:
        body = next(response.iter_content(MAX_BODY), b"")  # only the start: enough for an error detail
    except requests.RequestException:  # a body cut short says nothing more than the status already does
        body = b""
    finally:
        response.close()
    return SendResult(response.status_code, parse_retry_after(response.headers.get("Retry-After"), time.time()),
                      body.decode("utf-8", "replace"), duration_ms=(time.perf_counter() - started) * 1000)
