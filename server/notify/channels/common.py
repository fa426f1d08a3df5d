"""What every channel's request carries: JSON bytes and the identifying headers."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

USER_AGENT = "onset-notify/1"


def json_body(payload: Any) -> bytes:
    return orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)


def base_headers(message: Mapping[str, Any]) -> dict[str, str]:
    """Content type and the dedupe key, on every channel: a receiver that keeps the keys it
    has seen can drop the repeat a crash between sending and recording may cause."""
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Onset-Event": message["event"],
        "X-Onset-Dedupe-Key": message["dedupe_key"],
    }


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"
