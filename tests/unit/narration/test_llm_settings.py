"""The LLM settings: off by default, a provider needs a model, URLs are http(s)."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


def test_narration_is_off_by_default():
    settings = load_settings({})
    assert settings.llm_provider == "none" and settings.llm_model is None and settings.llm_timeout_seconds == 20


def test_a_provider_needs_a_model():
    with pytest.raises(ConfigError, match="ONSET_LLM_MODEL must be set"):
        load_settings({"ONSET_LLM_PROVIDER": "anthropic"})
    assert load_settings({"ONSET_LLM_PROVIDER": "Anthropic", "ONSET_LLM_MODEL": "m"}).llm_provider == "anthropic"


@pytest.mark.parametrize("env, name", [
    ({"ONSET_LLM_PROVIDER": "gpt"}, "ONSET_LLM_PROVIDER"),
    ({"ONSET_LLM_BASE_URL": "ftp://x"}, "ONSET_LLM_BASE_URL"),
    ({"ONSET_LLM_TIMEOUT_SECONDS": "0"}, "ONSET_LLM_TIMEOUT_SECONDS"),
])
def test_bad_values_name_the_variable(env, name):
    with pytest.raises(ConfigError, match=name):
        load_settings(env)


def test_a_base_url_loses_its_trailing_slash():
    assert load_settings({"ONSET_LLM_BASE_URL": "http://127.0.0.1:11434/v1/"}).llm_base_url == "http://127.0.0.1:11434/v1"
