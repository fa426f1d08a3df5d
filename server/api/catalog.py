"""The service catalog: PUT/DELETE /v1/services/{name} (admin), GET /v1/services[/{name}] (read)."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, g

from server.api.ingest import json_payload
from server.auth import requires
from server.errors import NotFound, ValidationFailed, json_response
from server.store import catalog
from server.timefmt import iso

bp = Blueprint("catalog", __name__)

MAX_NAME, MAX_URL = 200, 2000


def present_service(entry: dict[str, Any]) -> dict[str, Any]:
    return {**entry, "updated_at": iso(entry["updated_at"])}


def parse_entry(payload: Any) -> dict[str, str | None]:
    """team, runbook_url (http or https only) and channel; each may be null to clear it."""
    if not isinstance(payload, dict):
        raise ValidationFailed("expected a JSON object", {"body": ["expected a JSON object"]})
    errors: dict[str, list[str]] = {}
    found: dict[str, str | None] = {}
    aliases = {"runbook": "runbook_url"}
    for key, value in payload.items():
        name = aliases.get(key, key)
        if name not in ("team", "runbook_url", "channel"):
            errors[key] = ["unknown field: use team, runbook_url, channel"]
            continue
        limit = MAX_URL if name == "runbook_url" else MAX_NAME
        if value is None or value == "":
            found[name] = None
        elif not isinstance(value, str) or "\x00" in value or len(value) > limit or not value.strip():
            errors[key] = [f"must be a string of at most {limit} characters"]
        elif name == "runbook_url" and not value.strip().lower().startswith(("http://", "https://")):
            errors[key] = ["must be an http:// or https:// URL"]
        else:
            found[name] = value.strip()
    if errors:
        raise ValidationFailed("bad service entry", errors)
    return found


@bp.put("/v1/services/<name>")
@requires("admin")
def put_service(name: str):
    if len(name) > MAX_NAME:
        raise ValidationFailed("bad service name", {"name": [f"at most {MAX_NAME} characters"]})
    # Fields left out keep their value (so `onset services set NAME --team T` keeps the runbook);
    # null clears one.
    entry = {**(catalog.get_service(name) or {}), **parse_entry(json_payload())}
    saved = catalog.put_service(name, entry.get("team"), entry.get("runbook_url"), entry.get("channel"), g.key.name,
                                time.time())
    return json_response(present_service(saved))


@bp.get("/v1/services")
@requires("read")
def list_services():
    return json_response({"services": [present_service(s) for s in catalog.list_services()]})


@bp.get("/v1/services/<name>")
@requires("read")
def get_service(name: str):
    entry = catalog.get_service(name)
    if entry is None:
        raise NotFound(f"no catalog entry for {name}", {"name": ["unknown"]})
    return json_response(present_service(entry))


@bp.delete("/v1/services/<name>")
@requires("admin")
def delete_service(name: str):
    if not catalog.delete_service(name):
        raise NotFound(f"no catalog entry for {name}", {"name": ["unknown"]})
    return json_response({"deleted": name})
