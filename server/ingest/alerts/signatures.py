"""Webhook signatures: HMAC-SHA256 over the raw body bytes, compared in constant time.

Pure functions of the bytes and headers; the API turns a False into a 401.
"""

from __future__ import annotations

import hashlib
import hmac


def _hex_hmac(secret: str, message: bytes) -> bytes:
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest().encode()


def pagerduty_signature_ok(body: bytes, header: str | None, secret: str) -> bool:
    """PagerDuty V3: `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>]` (several while a secret is
    rotated). True when any v1 signature matches."""
    if not header:
        return False
    expected = _hex_hmac(secret, body)
    matched = False
    for part in header.split(","):
        version, _, value = part.strip().partition("=")
        # Every candidate is compared, so the time taken does not tell which one matched.
        if version == "v1" and hmac.compare_digest(value.strip().lower().encode(), expected):
            matched = True
    return matched


def grafana_signature_ok(body: bytes, signature: str | None, timestamp: str | None, secret: str, *,
                         timestamp_required: bool) -> bool:
    """Grafana: hex HMAC-SHA256 of the body, or of `<timestamp>:<body>` when its contact point
    sets a timestamp header."""
    if not signature or (timestamp_required and not timestamp):
        return False
    message = f"{timestamp}:".encode() + body if timestamp_required else body
    return hmac.compare_digest(signature.strip().lower().encode(), _hex_hmac(secret, message))
