"""Calls to the narrating model, with `requests` and a time limit. The only outbound calls
narration makes, and only when ONSET_LLM_PROVIDER names a provider.

* openai-compatible (OpenAI, vLLM, Ollama, llama.cpp): `POST {base}/chat/completions`,
  `Authorization: Bearer <key>` when a key is set; the text is `choices[0].message.content`.
* anthropic: `POST {base}/v1/messages` with `x-api-key` and `anthropic-version`; the text is
  the `text` blocks of `content`.

Every failure is a ProviderFailed naming what went wrong (never the key).
"""

from __future__ import annotations

from typing import Any

import requests

from server.config import Settings
from server.narration.prompt import MAX_TOKENS, SYSTEM

OPENAI_BASE = "https://api.openai.com/v1"
ANTHROPIC_BASE = "https://api.anthropic.com"
ANTHROPIC_VERSION = "2023-06-01"


class ProviderFailed(Exception):
    """The model could not be asked, or did not answer with text."""


def _post(url: str, headers: dict[str, str], body: dict[str, Any], timeout: float) -> Any:
    try:
        response = requests.post(url, json=body, headers=headers, timeout=timeout)
    except requests.Timeout:
        raise ProviderFailed(f"no answer within {timeout:g}s") from None
    except requests.RequestException as exc:
        raise ProviderFailed(f"cannot reach the provider: {type(exc).__name__}") from None
    if response.status_code >= 400:
        raise ProviderFailed(f"the provider answered HTTP {response.status_code}")
    try:
        return response.json()
    except ValueError:
        raise ProviderFailed("the provider's answer is not JSON") from None


def _openai(settings: Settings, user: str) -> str:
    headers = {"Authorization": f"Bearer {settings.llm_api_key}"} if settings.llm_api_key else {}
    body = {"model": settings.llm_model, "temperature": 0, "max_tokens": MAX_TOKENS,
            "messages": [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]}
    answer = _post(f"{settings.llm_base_url or OPENAI_BASE}/chat/completions", headers, body,
                   settings.llm_timeout_seconds)
    try:
        text = answer["choices"][0]["message"]["content"]
    except (KeyError, IndexError, TypeError):
        raise ProviderFailed("the answer has no choices[0].message.content") from None
    if not isinstance(text, str):
        raise ProviderFailed("the answer's content is not text")
    return text


def _anthropic(settings: Settings, user: str) -> str:
    headers = {"anthropic-version": ANTHROPIC_VERSION, **({"x-api-key": settings.llm_api_key}
                                                          if settings.llm_api_key else {})}
    body = {"model": settings.llm_model, "max_tokens": MAX_TOKENS, "temperature": 0, "system": SYSTEM,
            "messages": [{"role": "user", "content": user}]}
    answer = _post(f"{settings.llm_base_url or ANTHROPIC_BASE}/v1/messages", headers, body,
                   settings.llm_timeout_seconds)
    blocks = answer.get("content") if isinstance(answer, dict) else None
    texts = [b.get("text") for b in blocks or [] if isinstance(b, dict) and b.get("type") == "text"]
    if not texts or not all(isinstance(t, str) for t in texts):
        raise ProviderFailed("the answer has no text content block")
    return "".join(texts)


PROVIDERS = {"openai-compatible": _openai, "anthropic": _anthropic}


def ask(settings: Settings, user: str) -> str:
    """The model's text for the `user` message (the system prompt is narration's own)."""
    return PROVIDERS[settings.llm_provider](settings, user)
