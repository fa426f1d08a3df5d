"""POST/GET /v1/channels, GET/DELETE /v1/channels/{id} (scope admin).

A channel's URL and secret are capabilities (a Slack webhook URL lets anyone post): they
are stored, never shown again. The API shows the host and the URL's last characters.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint

from server.api.ingest import json_payload
from server.auth import requires
from server.errors import NotFound, json_response
from server.notify.channel_spec import channel_spec
from server.notify.model import Channel
from server.store import channels as channel_store
from server.timefmt import iso

bp = Blueprint("channels", __name__)


def masked_url(url: str) -> str:
    parts = urlsplit(url)
    rest = url[len(f"{parts.scheme}://{parts.netloc}"):]
    return f"{parts.scheme}://{parts.netloc}/…{rest[-4:]}" if len(rest) > 4 else f"{parts.scheme}://{parts.netloc}{rest}"


def present_channel(channel: Channel) -> dict[str, Any]:
    return {"id": channel.id, "type": channel.type, "name": channel.name, "url": masked_url(channel.url),
            "secret_set": bool(channel.secret), "rules": [r.as_dict() for r in channel.rules],
            "created_at": iso(channel.created_at), "removed_at": iso(channel.removed_at)}


@bp.post("/v1/channels")
@requires("admin")
def add_channel():
    spec = channel_spec(json_payload())
    channel = channel_store.create_channel(spec.type, spec.name, spec.url, spec.secret, spec.rules, time.time())
    return json_response(present_channel(channel), 201)


@bp.get("/v1/channels")
@requires("admin")
def list_channels():
    return json_response({"channels": [present_channel(c) for c in channel_store.list_channels()]})


@bp.get("/v1/channels/<channel_id>")
@requires("admin")
def get_channel(channel_id: str):
    channel = channel_store.get_channel(channel_id)
    if channel is None:
        raise NotFound(f"no channel {channel_id}", {"channel_id": ["unknown"]})
    return json_response(present_channel(channel))


@bp.delete("/v1/channels/<channel_id>")
@requires("admin")
def remove_channel(channel_id: str):
    if not channel_store.remove_channel(channel_id, time.time()):
        raise NotFound(f"no live channel {channel_id}", {"channel_id": ["unknown or already removed"]})
    return json_response(present_channel(channel_store.get_channel(channel_id)))
