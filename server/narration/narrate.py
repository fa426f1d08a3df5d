"""A report's narrative: the model's prose when it passes the grounding check, else the
report's templated summary with why. Pure apart from `ask` (the provider call, passed in).

The narrative's shape (`GET /v1/triage/{id}/narrative`, the MCP triage tool):
`{"text", "source": "llm" | "template", "provider", "model", "fallback": bool, "reason",
"violations": [{"kind", "value", "why"}], "rejected_text", "generated_at"}`. `fallback` is
true when a narration was asked for and not shown; `reason` then says why (a rejection
names its violations; a provider failure says what failed).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from server.config import Settings
from server.narration.facts import facts_of
from server.narration.grounding import check_narration
from server.narration.prompt import user_message
from server.narration.providers import ProviderFailed
from server.timefmt import iso

OFF = "narration is off (ONSET_LLM_PROVIDER=none): the report's templated summary"


def narrative_of(report: Mapping[str, Any], settings: Settings, now: float,
                 ask: Callable[[Settings, str], str]) -> dict[str, Any]:
    """The narrative of `report`. `ask(settings, user_message)` returns the model's text or
    raises ProviderFailed; it is not called when the provider is `none`."""
    base = {"provider": settings.llm_provider, "model": settings.llm_model, "generated_at": iso(now),
            "violations": [], "rejected_text": None}
    template = {**base, "text": report["summary"], "source": "template"}
    if settings.llm_provider == "none":
        return {**template, "fallback": False, "reason": OFF}
    try:
        text = ask(settings, user_message(report)).strip()
    except ProviderFailed as exc:
        return {**template, "fallback": True, "reason": f"provider failed: {exc}"}
    grounding = check_narration(text, facts_of(report))
    if grounding.ok:
        return {**base, "text": text, "source": "llm", "fallback": False, "reason": None}
    return {**template, "fallback": True, "reason": f"rejected by the grounding check: {grounding.reason()}",
            "violations": list(grounding.violations), "rejected_text": text}
