"""Channel types: each module builds the HTTP request for a message and names its
`RETRIER` (the shared outcome helper, with the statuses it retries) and the events it
carries (`TAKES`). Pure: nothing here sends."""

from __future__ import annotations

from collections.abc import Mapping
from types import ModuleType
from typing import Any

from server.notify.channels import pagerduty, slack, webhook
from server.notify.model import Channel, HttpRequest
from server.notify.retry import Retrier

TYPES: dict[str, ModuleType] = {"slack": slack, "webhook": webhook, "pagerduty": pagerduty}


def takes(channel_type: str, event: str) -> bool:
    return event in TYPES[channel_type].TAKES


def build_request(channel: Channel, message: Mapping[str, Any]) -> HttpRequest:
    """The request `channel` sends for `message` (as `notify.content.message_for` builds it)."""
    return TYPES[channel.type].build(channel, message)


def retrier(channel_type: str) -> Retrier:
    return TYPES[channel_type].RETRIER
