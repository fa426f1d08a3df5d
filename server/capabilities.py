"""What this server can do, and what the calling key may do: GET /v1/capabilities.

An agent (or an operator) reads it before calling anything else. Secrets never appear:
no database password, no Redis URL, no LLM key, no channel URL.
"""

from __future__ import annotations

from collections import Counter
from typing import Any
from urllib.parse import urlparse

from server.agents.catalogue import RESPOND_TOOLS
from server.agents.catalogue import TOOLS as AGENT_TOOLS
from server.auth import granted_scopes
from server.config import Settings
from server.plans.templates import TEMPLATES
from server.plans.tools import PLAN_TOOLS
from server.store import channels, db, health_alerts, lease
from server.store.keys import KeyInfo
from server.timefmt import iso
from server.triage.lookup import generator

OTLP_ENCODINGS = ("application/x-protobuf", "application/json")


def _storage() -> dict[str, Any]:
    return {"backend": "postgresql" if db.is_postgres() else "sqlite"}


def _engine(settings: Settings) -> dict[str, Any]:
    state = lease.state()
    return {"enabled_here": settings.engine_enabled, "leader": state.holder,
            "lease_expires_at": iso(state.expires_at), "last_tick_at": iso(state.last_tick_at),
            "ticks": state.ticks, "tick_seconds": settings.tick_seconds, "window_seconds": settings.window_seconds}


def _rate_limits(settings: Settings) -> dict[str, Any]:
    scheme = urlparse(settings.ratelimit_storage).scheme
    return {"profile": settings.profile, "per_key_per_second": {
        "ingest": settings.ratelimit_ingest_rps or None, "read": settings.ratelimit_read_rps or None,
        "agent": settings.ratelimit_agent_rps or None},
        "shared": scheme != "memory", "storage": "redis" if scheme.startswith("redis") else scheme,
        "note": "null: no limit; respond and admin routes are never limited"}


def _sentinel(settings: Settings, now: float) -> dict[str, Any]:
    active = health_alerts.active_health_alerts(now)
    return {"enabled": settings.sentinel_enabled, "active_health_alerts": len(active),
            "critical": sum(1 for a in active if a["severity"] == "critical")}


def _channels() -> dict[str, Any]:
    live = channels.live_channels()
    return {"configured": len(live), "by_type": dict(sorted(Counter(c.type for c in live).items()))}


def _llm(settings: Settings) -> dict[str, Any]:
    on = settings.llm_provider != "none"
    return {"provider": settings.llm_provider, "model": settings.llm_model if on else None,
            "narration": "llm" if on else "template",
            "endpoint": "/v1/triage/{incident_id}/narrative"}


def _agents(scopes: list[str]) -> dict[str, Any]:
    may_respond = "respond" in scopes
    return {"mcp_tools": [name for name in AGENT_TOOLS if may_respond or name not in RESPOND_TOOLS],
            "plan_tools": list(PLAN_TOOLS), "plan_templates": {n: t.description for n, t in TEMPLATES.items()},
            "plans": "agent" in scopes}


def capabilities(settings: Settings, key: KeyInfo, now: float) -> dict[str, Any]:
    """The capabilities document for a request made with `key` at `now`."""
    scopes = granted_scopes(key.scopes)
    return {
        "version": generator().removeprefix("onset").strip() or None,
        "storage": _storage(),
        "engine": _engine(settings),
        "rate_limits": _rate_limits(settings),
        "sentinel": _sentinel(settings, now),
        "channels": _channels(),
        "otlp": {"traces": "/v1/traces", "encodings": list(OTLP_ENCODINGS), "gzip": True},
        "llm": _llm(settings),
        "agents": _agents(scopes),
        "key": {"key_id": key.key_id, "name": key.name, "scopes": list(key.scopes), "grants": scopes},
    }
