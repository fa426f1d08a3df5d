"""The CLI: exit codes, --json, NO_COLOR, migrate --status, keys."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.support.live import ONSET


def run(args, env, check=False):
    return subprocess.run([ONSET, *args], env=env, capture_output=True, text=True, timeout=60, check=check)


@pytest.fixture
def env(tmp_path):
    return {"ONSET_DATA_DIR": str(tmp_path / "data"), "PATH": "/usr/bin:/bin", "NO_COLOR": "1"}


def test_migrate_then_status_lists_applied_migrations(env):
    assert run(["migrate"], env).returncode == 0
    out = run(["migrate", "--status"], env, check=True).stdout
    assert "0001_initial  applied" in out
    assert "pending" not in out


def test_keys_create_prints_key_once_and_list_never_shows_it(env):
    created = run(["keys", "create", "--scope", "ingest", "--name", "checkout"], env, check=True)
    key = created.stdout.strip()
    assert key.startswith("onk_")
    listed = run(["keys", "list", "--json"], env, check=True).stdout
    assert key not in listed
    entry = json.loads(listed)["keys"][0]
    assert entry["name"] == "checkout" and entry["scopes"] == ["ingest"]
    assert run(["keys", "revoke", entry["key_id"]], env).returncode == 0
    assert run(["keys", "revoke", entry["key_id"]], env).returncode == 1


def test_bad_configuration_is_a_usage_error(env):
    result = run(["migrate"], {**env, "ONSET_TICK_SECONDS": "never"})
    assert result.returncode == 2
    assert "ONSET_TICK_SECONDS" in result.stderr


def test_unknown_option_is_a_usage_error(env):
    assert run(["incidents", "--bogus"], env).returncode == 2


def test_unreachable_server_is_an_error_not_a_traceback(env):
    result = run(["incidents"], {**env, "ONSET_URL": "http://127.0.0.1:9", "ONSET_API_KEY": "k"})
    assert result.returncode == 1
    assert "cannot reach" in result.stderr and "Traceback" not in result.stderr
