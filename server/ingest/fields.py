"""Field rules shared by the event, signal and alert schemas."""

from __future__ import annotations

from typing import Any

import orjson
from marshmallow import ValidationError, fields

from server.timefmt import parse_time

MAX_ATTRIBUTES_BYTES = 16 * 1024
ENV_DEFAULT = "production"
NUL_MESSAGE = "must not contain NUL characters"
TOO_DEEP_MESSAGE = "must not nest deeper than 254 levels"


class Timestamp(fields.Field):
    """Epoch seconds (number) or an RFC 3339 string, loaded as float epoch seconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> float:
        try:
            return parse_time(value)
        except ValueError as exc:
            raise ValidationError(str(exc)) from None


class Text(fields.String):
    """A string that both backends can store: PostgreSQL TEXT rejects NUL characters."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs)
        if "\x00" in text:
            raise ValidationError(NUL_MESSAGE)
        return text


def encoded_size(value: Any) -> int | None:
    """Bytes of `value` as JSON, or None when it cannot be encoded: orjson reads JSON nested
    1024 levels deep but writes at most 254, so a parsed body can still fail to encode."""
    try:
        return len(orjson.dumps(value))
    except orjson.JSONEncodeError:
        return None


class JsonObject(fields.Dict):
    """A JSON object whose encoding stays under a byte cap."""

    def __init__(self, max_bytes: int = MAX_ATTRIBUTES_BYTES, **kwargs: Any):
        super().__init__(keys=fields.String(), **kwargs)
        self.max_bytes = max_bytes

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> dict:
        result = super()._deserialize(value, attr, data, **kwargs)
        size = encoded_size(result)
        if size is None:
            raise ValidationError(TOO_DEEP_MESSAGE)
        if size > self.max_bytes:
            raise ValidationError(f"must encode to at most {self.max_bytes} bytes of JSON")
        return result


def check_not_future(ts: float, now: float, skew: float) -> str | None:
    if ts > now + skew:
        return f"is more than {skew:g}s in the future"
    return None
