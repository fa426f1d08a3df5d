"""A generic webhook: the whole message as JSON (the triage report included), signed with
HMAC-SHA256 over the raw body bytes when the channel has a secret:
`X-Onset-Signature: sha256=<hex>`."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping
from typing import Any

from server.notify.channels.common import base_headers, json_body
from server.notify.model import EVENTS, Channel, HttpRequest
from server.notify.retry import Retrier

SIGNATURE_HEADER = "X-Onset-Signature"
TAKES = frozenset(EVENTS)
RETRIER = Retrier(retry_codes=frozenset({408, 425, 429}))


def signature(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def build(channel: Channel, message: Mapping[str, Any]) -> HttpRequest:
    body = json_body(dict(message))
    headers = base_headers(message)
    if channel.secret:
        headers[SIGNATURE_HEADER] = signature(body, channel.secret)
    return HttpRequest(channel.url, body, headers)
