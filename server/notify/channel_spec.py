"""A channel as the API (and the CLI, through it) describes one: validated into what
`store.channels.create_channel` takes. Bad input raises ValidationFailed naming each field.

    {"type": "slack" | "webhook" | "pagerduty", "name": "...",
     "url": "https://..." (slack, webhook; pagerduty: the Events API URL, optional),
     "secret": "..." (webhook: HMAC-SHA256 signing secret, optional),
     "routing_key": "..." (pagerduty: the integration key, required),
     "rules": [{"service": [...], "env": [...], "severity": [...], "cause": [...], "events": [...]}]}

A rule field may be one string or a list; a channel without rules takes every notice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from marshmallow import RAISE, Schema, ValidationError, fields, validate, validates_schema

from server.errors import ValidationFailed
from server.ingest.fields import Text
from server.notify.channels.pagerduty import EVENTS_URL
from server.notify.model import CHANNEL_TYPES, EVENTS, RULE_FIELDS, Rule

MAX_RULES = 20
MAX_VALUES = 50


def _url(value: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValidationError("must be an http(s) URL")


class OneOrMany(fields.Field):
    """A string or a list of strings, loaded as a tuple."""

    def __init__(self, choices: tuple[str, ...] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.choices = choices

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> tuple[str, ...]:
        values = [value] if isinstance(value, str) else value
        if not isinstance(values, list) or not values or len(values) > MAX_VALUES:
            raise ValidationError(f"must be a string or a list of 1 to {MAX_VALUES} strings")
        loaded = []
        for item in values:
            if not isinstance(item, str) or not 0 < len(item) <= 256 or "\x00" in item:
                raise ValidationError("each value must be a string of 1 to 256 characters")
            if self.choices is not None and item not in self.choices:
                raise ValidationError(f"{item!r} is not one of {', '.join(self.choices)}")
            loaded.append(item)
        return tuple(dict.fromkeys(loaded))


class RuleSchema(Schema):
    class Meta:
        unknown = RAISE

    service = OneOrMany()
    env = OneOrMany()
    severity = OneOrMany()
    cause = OneOrMany()
    events = OneOrMany(choices=EVENTS)
    team = OneOrMany()  # the owning team of the service, from the service catalog


class ChannelSchema(Schema):
    class Meta:
        unknown = RAISE

    type = fields.String(required=True, validate=validate.OneOf(CHANNEL_TYPES))
    name = Text(load_default=None, validate=validate.Length(1, 100))
    url = Text(load_default=None, validate=[validate.Length(1, 2048), _url])
    secret = Text(load_default=None, validate=validate.Length(1, 256))
    routing_key = Text(load_default=None, validate=validate.Length(1, 128))
    rules = fields.List(fields.Nested(RuleSchema), load_default=list, validate=validate.Length(0, MAX_RULES))

    @validates_schema
    def _per_type(self, data: dict[str, Any], **_: Any) -> None:
        kind = data.get("type")
        errors: dict[str, list[str]] = {}
        if kind in ("slack", "webhook") and not data.get("url"):
            errors["url"] = [f"is required for a {kind} channel"]
        if kind == "pagerduty" and not data.get("routing_key"):
            errors["routing_key"] = ["is required for a pagerduty channel"]
        if kind != "pagerduty" and data.get("routing_key"):
            errors["routing_key"] = ["only a pagerduty channel takes a routing key"]
        if kind != "webhook" and data.get("secret"):
            errors["secret"] = ["only a webhook channel is signed with a secret"]
        if errors:
            raise ValidationError(errors)


def _json_keys(messages: Any) -> Any:
    # A nested list's errors are keyed by index (int); the JSON error shape needs strings.
    if isinstance(messages, dict):
        return {str(k): _json_keys(v) for k, v in messages.items()}
    return messages


@dataclass(frozen=True)
class ChannelSpec:
    type: str
    name: str
    url: str
    secret: str | None
    rules: tuple[Rule, ...]


_schema = ChannelSchema()


def channel_spec(payload: Any) -> ChannelSpec:
    if not isinstance(payload, dict):
        raise ValidationFailed("the body must be a JSON object", {"body": ["must be a JSON object"]})
    try:
        data = _schema.load(payload)
    except ValidationError as exc:
        raise ValidationFailed("invalid channel", _json_keys(exc.messages_dict)) from None
    secret = data["routing_key"] if data["type"] == "pagerduty" else data["secret"]
    url = data["url"] or EVENTS_URL
    rules = tuple(Rule(**{name: rule.get(name, ()) for name in RULE_FIELDS}) for rule in data["rules"])
    return ChannelSpec(data["type"], data["name"] or data["type"], url, secret, rules)
