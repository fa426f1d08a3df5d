"""init: options from arguments and ONSET_ variables, unknown options, what importing loads."""

from __future__ import annotations

import subprocess
import sys

import onset_sdk
import pytest
from onset_sdk.client import get_client
from onset_sdk.options import resolve

from tests.sdk.conftest import RecordingTransport


def test_options_come_from_onset_variables():
    environ = {"ONSET_URL": "http://onset.internal:9000/", "ONSET_API_KEY": "onk_x_y", "ONSET_SERVICE": "checkout",
               "ONSET_ENV": "staging", "ONSET_VERSION": "1.4.0"}
    options = resolve({}, environ)
    assert (options.url, options.api_key, options.service, options.env, options.version) == (
        "http://onset.internal:9000", "onk_x_y", "checkout", "staging", "1.4.0")


def test_an_argument_wins_over_its_variable():
    options = resolve({"service": "payment", "env": "production"}, {"ONSET_SERVICE": "checkout", "ONSET_ENV": "dev"})
    assert (options.service, options.env) == ("payment", "production")


def test_defaults_without_arguments_or_variables():
    options = resolve({}, {})
    assert options.url == "http://127.0.0.1:8080"
    assert options.env == "production"
    assert options.service.startswith("unknown_service:")
    assert options.api_key is None and options.version is None


def test_unknown_init_option_raises_type_error():
    with pytest.raises(TypeError, match="servce"):
        onset_sdk.init(servce="checkout", transport=RecordingTransport())
    assert not onset_sdk.is_initialized()


def test_bad_sizes_raise_value_error():
    with pytest.raises(ValueError, match="queue_size"):
        resolve({"queue_size": 0}, {})


def test_init_reads_the_environment(monkeypatch):
    monkeypatch.setenv("ONSET_SERVICE", "inventory")
    monkeypatch.setenv("ONSET_VERSION", "0.9.7")
    client = onset_sdk.init(transport=RecordingTransport())
    assert (client.service, client.version) == ("inventory", "0.9.7")


def test_a_second_init_replaces_the_first():
    first = onset_sdk.init(service="a", transport=RecordingTransport())
    second = onset_sdk.init(service="b", transport=RecordingTransport())
    assert get_client() is second is not first


def test_disabled_sdk_records_nothing():
    assert onset_sdk.init(enabled=False) is None
    assert not onset_sdk.is_initialized()
    assert onset_sdk.signal("config", reason="flag flipped") is None
    assert onset_sdk.flush() is True
    assert onset_sdk.stats()["sent"] == 0


def test_without_init_every_helper_is_a_no_op():
    onset_sdk.set_error_code("x")
    onset_sdk.current_event()["field"] = 1
    assert onset_sdk.deploy(version="1.0") is None
    assert onset_sdk.safe_call(lambda: 42) == 42


def test_importing_the_sdk_imports_no_framework():
    code = ("import sys, onset_sdk; onset_sdk.init(service='x', instrument_requests=True); "
            "bad = [m for m in ('flask', 'werkzeug', 'django', 'asyncio') if m in sys.modules]; "
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30, check=True)
    assert out.stdout.strip() == ""
