"""The operations settings: durations, profiles, storage URLs and the metrics address."""

from __future__ import annotations

import pytest

from server.config import ConfigError, load_settings


@pytest.mark.parametrize(("raw", "seconds"), [("7d", 7 * 86400), ("24h", 86400), ("90m", 5400), ("45s", 45),
                                              ("3600", 3600), ("1.5h", 5400), ("0", 0)])
def test_retention_accepts_durations_with_units(raw, seconds):
    assert load_settings({"ONSET_EVENT_RETENTION": raw}).event_retention == seconds


@pytest.mark.parametrize("raw", ["7 days", "d", "-1d", "1w", "nan"])
def test_a_bad_retention_names_the_variable(raw):
    with pytest.raises(ConfigError, match="ONSET_EVENT_RETENTION"):
        load_settings({"ONSET_EVENT_RETENTION": raw})


def test_retention_defaults_are_7_30_and_90_days():
    settings = load_settings({})
    assert (settings.event_retention, settings.signal_retention, settings.incident_retention) == (
        7 * 86400, 30 * 86400, 90 * 86400)


def test_an_unknown_profile_is_refused():
    with pytest.raises(ConfigError, match="ONSET_PROFILE"):
        load_settings({"ONSET_PROFILE": "staging"})


@pytest.mark.parametrize("raw", ["memory://", "redis://127.0.0.1:6379/0", "rediss://cache:6380",
                                 "redis+unix:///run/redis.sock"])
def test_rate_limit_storage_takes_memory_or_redis(raw):
    assert load_settings({"ONSET_RATELIMIT_STORAGE": raw}).ratelimit_storage == raw


def test_rate_limit_storage_refuses_other_schemes():
    with pytest.raises(ConfigError, match="ONSET_RATELIMIT_STORAGE"):
        load_settings({"ONSET_RATELIMIT_STORAGE": "memcached://cache:11211"})


def test_metrics_addr_is_host_and_port_or_unset():
    assert load_settings({}).metrics_addr is None
    assert load_settings({"ONSET_METRICS_ADDR": "10.0.0.5:9464"}).metrics_addr == "10.0.0.5:9464"
    with pytest.raises(ConfigError, match="ONSET_METRICS_ADDR"):
        load_settings({"ONSET_METRICS_ADDR": "9464"})


def test_a_negative_rate_is_refused_and_off_means_zero():
    with pytest.raises(ConfigError, match="ONSET_RATELIMIT_READ_RPS"):
        load_settings({"ONSET_RATELIMIT_READ_RPS": "-1"})
    assert load_settings({"ONSET_RATELIMIT_READ_RPS": "off"}).ratelimit_read_rps == 0
