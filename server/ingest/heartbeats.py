"""Pipeline heartbeats: `{"source": "...", "interval_s": 30, "after": "<upstream>"}`.

Each beat declares (or re-declares) the source's cadence and its upstream stage, and is
committed before the answer. Bad input raises ValidationFailed naming each field.
"""

from __future__ import annotations

from typing import Any

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from server.errors import ValidationFailed
from server.ingest.fields import Text
from server.store import heartbeats

SOURCE_PATTERN = r"^[0-9A-Za-z_.:/@-]{1,128}\Z"
MAX_INTERVAL_S = 7 * 86400


class HeartbeatSchema(Schema):
    class Meta:
        unknown = RAISE

    source = Text(required=True, validate=validate.Regexp(SOURCE_PATTERN,
                                                          error="must be 1-128 characters of [0-9A-Za-z_.:/@-]"))
    interval_s = fields.Float(required=True, allow_nan=False,
                              validate=validate.Range(0, MAX_INTERVAL_S, min_inclusive=False))
    after = Text(load_default=None, allow_none=True,
                 validate=validate.Regexp(SOURCE_PATTERN, error="must be 1-128 characters of [0-9A-Za-z_.:/@-]"))

    @validates_schema
    def _not_after_itself(self, data: dict[str, Any], **_: Any) -> None:
        if data.get("after") is not None and data.get("after") == data.get("source"):
            raise ValidationError({"after": ["must name another stage than the source itself"]})


_schema = HeartbeatSchema()


def record_beat(payload: Any, now: float) -> dict[str, Any]:
    """Validate and commit one beat; returns the stored heartbeat row."""
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": ["must be a JSON object"]})
    if isinstance(payload.get("interval_s"), bool):
        raise ValidationFailed("invalid heartbeat", {"interval_s": ["Not a valid number."]})
    try:
        data = _schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed("invalid heartbeat", exc.messages_dict) from None
    return heartbeats.beat(data["source"], data["interval_s"], data["after"], now)
