"""Settings are parsed and validated once, with errors naming the variable."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


def test_defaults_match_the_design_table():
    s = load_settings({})
    assert (s.window_seconds, s.tick_seconds, s.min_count, s.lift) == (60, 10, 5, 3)
    assert s.resolve_after_seconds == 300 and s.workers == 2 and s.bind == "127.0.0.1:8080"
    assert s.resolved_database_url.endswith("data/onset.db")


def test_postgres_url_is_used_as_given():
    s = load_settings({"ONSET_DATABASE_URL": "postgresql://u@h/db"})
    assert s.resolved_database_url == "postgresql://u@h/db"


@pytest.mark.parametrize("name, value", [
    ("ONSET_TICK_SECONDS", "0"),
    ("ONSET_WINDOW_SECONDS", "soon"),
    ("ONSET_MIN_COUNT", "-1"),
    ("ONSET_BIND", "8080"),
    ("ONSET_DATABASE_URL", "mysql://x"),
    ("ONSET_MIN_ERROR_RATE", "1.5"),
    ("ONSET_ENGINE_ENABLED", "maybe"),
])
def test_bad_value_names_the_variable(name, value):
    with pytest.raises(ConfigError, match=name):
        load_settings({name: value})


def test_window_shorter_than_tick_is_refused():
    with pytest.raises(ConfigError, match="ONSET_WINDOW_SECONDS"):
        load_settings({"ONSET_WINDOW_SECONDS": "1", "ONSET_TICK_SECONDS": "2"})


def test_fractional_windows_are_allowed_for_short_demos():
    s = load_settings({"ONSET_WINDOW_SECONDS": "2", "ONSET_TICK_SECONDS": "0.25"})
    assert s.bucket_seconds == 0.25
