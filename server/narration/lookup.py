"""Narratives read from (or made for) the store: what GET /v1/triage/{id}/narrative calls."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from server.config import Settings
from server.narration.narrate import narrative_of
from server.narration.providers import ask as ask_provider
from server.store import narratives


def narrative_for(report: dict[str, Any], settings: Settings, now: float,
                  ask: Callable[[Settings, str], str] = ask_provider) -> dict[str, Any]:
    """The narrative of `report`'s current state: the stored one when this state was already
    narrated by this provider and model, else a new one (kept unless the provider failed)."""
    if settings.llm_provider == "none":
        return narrative_of(report, settings, now, ask)
    key = (report["incident"]["id"], report["report_hash"], settings.llm_provider, settings.llm_model or "")
    stored = narratives.get_narrative(*key)
    if stored is not None:
        return stored
    narrative = narrative_of(report, settings, now, ask)
    provider_failed = narrative["fallback"] and narrative["rejected_text"] is None
    if not provider_failed:
        narratives.keep_narrative(*key, narrative, now)
    return narrative
