"""`onset doctor` (server/doctor.py): each check finds what it is for and says what to do."""

from __future__ import annotations

import orjson
import pytest
import requests
from click.testing import CliRunner

from server import doctor
from server.cli import main
from server.doctor import FAIL, OK, WARN, Check, check_server, run_doctor
from server.engine.tick import Engine
from server.store import db, keys, lease
from tests.support.factories import T0, family
from tests.support.ticking import burst, family_traffic, store_events, tick_through

STRONG = "onk_doctor0_" + "Vh3kQ9zR2mW7xT4pL8nB5cY1sD6fG0j"


@pytest.fixture
def environ(store):
    return {"ONSET_DATABASE_URL": store.resolved_database_url, "ONSET_DATA_DIR": store.data_dir,
            "ONSET_TICK_SECONDS": "10", "ONSET_WINDOW_SECONDS": "60"}


def by_name(checks: list[Check]) -> dict[str, Check]:
    return {c.name: c for c in checks}


def healthy(store, now: float) -> None:
    keys.create_key("admin", ("admin",), STRONG)
    ticked(store, now)


def ticked(store, now: float) -> None:
    assert lease.try_acquire("doctor-test", now, 30)
    assert Engine(store, "doctor-test").tick(now).committed


def test_a_healthy_installation_has_no_failing_check(store, environ, tmp_path):
    healthy(store, T0)
    checks = run_doctor(environ, now=T0 + 1)
    assert [c for c in checks if c.status == FAIL] == []
    found = by_name(checks)
    assert {"configuration", "data dir", "database", "migrations", "engine", "keys", "report hash",
            "rate limits", "durability"} <= set(found)
    assert found["engine"].status == OK and "doctor-test" in found["engine"].detail


def test_a_bad_setting_fails_and_stops_there():
    checks = run_doctor({"ONSET_TICK_SECONDS": "0"})
    assert [(c.name, c.status) for c in checks] == [("configuration", FAIL)]
    assert "ONSET_TICK_SECONDS" in checks[0].detail and checks[0].fix


def test_a_missing_or_unreachable_database_fails(tmp_path):
    missing = by_name(run_doctor({"ONSET_DATA_DIR": str(tmp_path / "nothing")}))["database"]
    assert missing.status == FAIL and "onset serve" in missing.fix
    unreachable = by_name(run_doctor({"ONSET_DATABASE_URL": "postgresql://postgres@127.0.0.1:9/none"}))["database"]
    assert unreachable.status == FAIL and "ONSET_DATABASE_URL" in unreachable.fix


def test_a_data_dir_that_cannot_be_written_fails(environ, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    check = by_name(run_doctor({**environ, "ONSET_DATA_DIR": str(blocker)}))["data dir"]
    assert check.status == FAIL and "ONSET_DATA_DIR" in check.fix


def test_a_pending_migration_fails(store, environ):
    healthy(store, T0)
    with db.write_transaction():
        db.execute("DELETE FROM schema_migrations WHERE version = (SELECT MAX(version) FROM schema_migrations)")
    check = by_name(run_doctor(environ, now=T0 + 1))["migrations"]
    assert check.status == FAIL and "pending" in check.detail and "onset migrate" in check.fix


def test_an_engine_that_never_ticked_warns_and_a_stale_one_fails(store, environ):
    keys.create_key("admin", ("admin",), STRONG)
    assert by_name(run_doctor(environ, now=T0))["engine"].status == WARN
    ticked(store, T0)
    stale = by_name(run_doctor(environ, now=T0 + 31))["engine"]
    assert stale.status == FAIL and "31s ago" in stale.detail


def test_no_key_or_a_weak_key_fails(store, environ):
    assert lease.try_acquire("x", T0, 30)
    assert by_name(run_doctor(environ, now=T0))["keys"].status == FAIL
    keys.create_key("admin", ("admin",), STRONG)
    weak = by_name(run_doctor({**environ, "ONSET_BOOTSTRAP_KEY": "changeme-changeme-123456"}, now=T0))["keys"]
    assert weak.status == FAIL and "ONSET_BOOTSTRAP_KEY" in weak.detail and "placeholder" in weak.detail


def test_the_report_hash_of_a_sample_incident_is_stable(store, environ, monkeypatch):
    checkout = family("checkout", "POST /checkout", "E500")
    store_events(store, family_traffic(T0 - 300, T0 + 60, checkout) + burst(checkout, T0))
    keys.create_key("admin", ("admin",), STRONG)
    [incident_id] = tick_through(Engine(store, "doctor-test"), T0 - 30, T0 + 10)
    check = by_name(run_doctor(environ, now=T0 + 11))["report hash"]
    assert check.status == OK and incident_id in check.detail and "stable" in check.detail

    hashes = iter(["a" * 64, "b" * 64])
    monkeypatch.setattr(doctor, "report_for", lambda _id: {"report_hash": next(hashes)})
    unstable = by_name(run_doctor(environ, now=T0 + 11))["report hash"]
    assert unstable.status == FAIL and "not deterministic" in unstable.fix


def test_an_unreachable_rate_limit_storage_fails(environ):
    settings_env = {**environ, "ONSET_RATELIMIT_READ_RPS": "5", "ONSET_RATELIMIT_STORAGE": "redis://127.0.0.1:9/0"}
    check = by_name(run_doctor(settings_env))["rate limits"]
    assert check.status == FAIL and "requests pass" in check.detail


class FakeServer:
    def __init__(self, answers: dict[str, tuple[int, dict]]):
        self.answers = answers
        self.calls: list[tuple[str, dict]] = []

    def __call__(self, url: str, **kwargs) -> requests.Response:
        self.calls.append((url, kwargs))
        path = "/" + url.split("/", 3)[3]
        if path not in self.answers:
            raise requests.ConnectionError("refused")
        status, body = self.answers[path]
        response = requests.Response()
        response.status_code = status
        response._content = orjson.dumps(body)
        return response


def test_live_checks_report_livez_readyz_and_an_authenticated_request():
    ready = {"ready": True, "checks": {"engine": {"ok": True, "leader": "host:1"}}}
    server = FakeServer({"/livez": (200, {}), "/readyz": (200, ready), "/v1/incidents": (200, {"incidents": []})})
    checks = check_server("http://onset", "some-key", None, get=server)
    assert [(c.name, c.status) for c in checks] == [("server /livez", OK), ("server /readyz", OK),
                                                    ("server auth", OK)]
    assert server.calls[-1][1]["headers"] == {"Authorization": "Bearer some-key"}


def test_live_checks_fail_on_an_unready_server_or_a_refused_key_and_warn_without_a_key():
    not_ready = {"ready": False, "checks": {"engine": {"ok": False, "reason": "no tick for 40s"}}}
    refused = {"error": {"code": "unauthorized", "message": "unknown or revoked API key", "fields": {}}}
    server = FakeServer({"/livez": (200, {}), "/readyz": (503, not_ready), "/v1/incidents": (401, refused)})
    found = by_name(check_server("http://onset", "bad-key", None, get=server))
    assert found["server /readyz"].status == FAIL and "no tick for 40s" in found["server /readyz"].detail
    assert found["server auth"].status == FAIL and "revoked" in found["server auth"].detail
    assert by_name(check_server("http://onset", None, None, get=server))["server auth"].status == WARN
    assert check_server("http://nowhere", None, None, get=FakeServer({}))[0].status == FAIL


def test_the_cli_prints_a_line_per_check_and_exits_1_on_a_failure(store, environ):
    healthy(store, T0)
    runner = CliRunner()
    result = runner.invoke(main, ["doctor", "--json"], env={**environ, "ONSET_TICK_SECONDS": "10"})
    body = orjson.loads(result.output)
    failing = [c for c in body["checks"] if c["status"] == "fail"]
    assert body["ok"] is (not failing) and result.exit_code == (1 if failing else 0)  # the lease is stale by now
    result = runner.invoke(main, ["doctor"], env={"ONSET_DATA_DIR": environ["ONSET_DATA_DIR"] + "/none"})
    assert result.exit_code == 1
    assert any(line.startswith("fail") and "database" in line for line in result.output.splitlines())
    assert "->" in result.output
